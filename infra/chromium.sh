#!/usr/bin/env bash
# Installs Debian's Chromium at /usr/bin/chromium when it is missing: the dashboard's browser tests
# (tests/Forge.Dashboard.Tests) drive it headless through Playwright, and skip, saying so, without it.
# Separate from prerequisites.sh because `forge build` needs none of it (about 300 MB with its libraries).
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

[ -x /usr/bin/chromium ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: please install Chromium at /usr/bin/chromium with your package manager" >&2
  exit 1
fi
echo "chromium: installing chromium"
as_root timeout 600 apt-get -o DPkg::Lock::Timeout=120 update -qq
as_root timeout 900 env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq chromium >/dev/null
