"""Alembic environment: runs on the connection `server.db.migrate` hands over (or a URL from KSERVER_*)."""
from alembic import context

from server import db, settings

config = context.config
connection = config.attributes.get("connection")


def run(conn) -> None:
    context.configure(connection=conn, target_metadata=db.metadata,
                      render_as_batch=conn.dialect.name == "sqlite")  # SQLite alters tables by copying
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    with db.make_engine(settings.load().url).begin() as conn:
        run(conn)
