#!/usr/bin/env bash
# Runs a command on the real display, or on a virtual one (Xvfb) when there is none.
if [ -n "${DISPLAY:-}" ]; then exec "$@"; fi
exec xvfb-run -a -s "-screen 0 1280x800x24" "$@"
