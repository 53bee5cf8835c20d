#!/usr/bin/env bash
# Compiles the gettext catalogs (locale/*/LC_MESSAGES/kiosk.po -> .mo). Run at setup/build time.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
exec "$PY" -m tools.i18n compile
