#!/usr/bin/env bash
# A throw-away PostgreSQL for the server tests: installs Debian's postgresql if missing, starts a
# private cluster on 127.0.0.1 and prints the DSN for the tests, so that
#     eval "$(bash scripts/ci-postgres.sh)"
# sets KIOSK_TEST_PG_DSN. Everything else goes to stderr. Safe to run again: a running cluster is reused.
# KIOSK_PG_DIR (default /tmp/kiosk-test-pg) and KIOSK_PG_PORT (default 55432) move it.
set -euo pipefail
dir="${KIOSK_PG_DIR:-/tmp/kiosk-test-pg}"
port="${KIOSK_PG_PORT:-55432}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
  echo "installing Debian package postgresql" >&2
  $SUDO apt-get update -qq >&2
  # policy-rc.d keeps the package's own cluster from starting (no init system in CI containers)
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
fi
bin="$(bindir)"

# initdb refuses to run as root: root runs the cluster as the postgres user.
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
fi
if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  as_owner "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300" start >&2
fi
# trust on loopback only, for a throw-away test cluster; the role may create the tests' databases
as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 >&2 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kiosk') THEN CREATE ROLE kiosk LOGIN CREATEDB; END IF;
END $$;
SQL
echo "export KIOSK_TEST_PG_DSN=postgresql://kiosk@127.0.0.1:$port/postgres"
