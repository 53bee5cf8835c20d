#!/bin/sh
# The one install command (docs/deploy.md): sudo deploy/install-kiosk.sh [kiosk-setup options]
set -eu
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
exec python3 "$(dirname "$0")/kiosk_setup.py" "$@"
