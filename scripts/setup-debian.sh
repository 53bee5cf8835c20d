#!/usr/bin/env bash
# Installs the Debian packages the kiosk needs, only those that are missing.
set -euo pipefail
pkgs=(libzbar0 libgl1 libegl1 libgl1-mesa-dri libmtdev1 libusb-1.0-0)
# Xvfb runs the kiosk without a display; the end-to-end tests start their own and tap with xdotool
pkgs+=(xvfb xauth xdotool)
# deploy/ tests: `systemd-analyze verify` on the units, `udevadm test` on the rules (Debian 12: no `udevadm verify`)
pkgs+=(systemd udev)
# the kiosk's compositor and its X server for SDL (deploy/files/kiosk-session; tests/deploy/test_cage.py)
pkgs+=(cage xwayland)
# the demo items' pictures are drawn from this font (kiosk/pictures.py)
pkgs+=(fonts-noto-color-emoji)
# the attendant console's browser tests drive Debian's chromium with Playwright (tests/console)
pkgs+=(chromium)

# speech in the accessible mode (docs/accessibility.md): the voices and the player of their WAV stream
pkgs+=(espeak-ng alsa-utils)
# node/npm install the ESC/POS encoder the printer simulator is tested against (Makefile, .venv/js)
# the real-photo corpus of the decoder tests is downloaded and unpacked (scripts/photo-corpus.sh)
pkgs+=(curl xz-utils ca-certificates)
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
