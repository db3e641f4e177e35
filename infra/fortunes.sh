#!/usr/bin/env bash
# The README's main job trains on the '%'-separated quotes of Debian's fortunes package; installs it when missing.
set -euo pipefail
[ -d /usr/share/games/fortunes ] && exit 0
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v apt-get >/dev/null 2>&1; then
  echo "fortunes: /usr/share/games/fortunes is missing; install your distribution's 'fortunes' package, or pass --corpus PATH" >&2
  exit 1
fi
echo "fortunes: installing Debian's fortunes package (the main job's corpus)" >&2
as_root timeout 600 apt-get -o DPkg::Lock::Timeout=120 update -qq
as_root timeout 900 env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq fortunes >/dev/null
