"""A kiosk's release follows its console site (`admin site assign`) unless `admin release site` names another:
one notion of site for the attendant console, insight and rollouts."""
import sqlalchemy as sa

from server import fleet, releases
from server.console import users
from server.db import make_engine, migrate, now, release_files


def test_the_rollout_of_a_kiosks_console_site_applies(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'server.sqlite'}")
    migrate(engine)
    with engine.begin() as conn:
        for version in ("1.0.0", "1.1.0"):
            conn.execute(sa.insert(release_files).values(version=version, manifest=f'{{"version": "{version}"}}',
                                                         signature="sig", content=b"wheel", uploaded_at=now()))
        for kiosk in ("lane-1", "lane-2", "lane-3"):
            fleet.enroll(conn, kiosk)
        users.add_site(conn, "south")
        users.assign_kiosk(conn, "lane-1", "south")
        users.assign_kiosk(conn, "lane-2", "south")
        releases.set_site(conn, "lane-2", "north")  # the release site, when given, wins
        releases.rollout(conn, "south", "1.1.0", 100)
        releases.rollout(conn, "north", "1.0.0", 100)
        assert releases.release_for(conn, "lane-1")["version"] == "1.1.0"
        assert releases.release_for(conn, "lane-2")["version"] == "1.0.0"
        assert releases.release_for(conn, "lane-3") is None  # site "default" has no rollout
    engine.dispose()
