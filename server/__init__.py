"""The central server: FastAPI app (server.app), schema and migrations (server.db, server/migrations),
batch ingest (server.ingest), catalog/bookings deltas (server.datasets), fleet and receipts (server.fleet),
the `kiosk-server` command (server.cli). Shares only kiosk.wire with the kiosk. See docs/server.md."""
