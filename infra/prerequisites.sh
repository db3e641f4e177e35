#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if they are missing:
#   patchelf, g++  - the TorchSharp glibc-compat step on hosts whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12)
#   curl           - readiness checks in infra/*.sh
# Optional arguments name more packages (e.g. docker-compose, used by CI to validate docker-compose.yml).
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for pkg in patchelf g++ curl "$@"; do
  command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "prerequisites: please install ${missing[*]} with your package manager" >&2
    exit 1
  fi
  echo "prerequisites: installing ${missing[*]}"
  as_root timeout 600 apt-get -o DPkg::Lock::Timeout=120 update -qq
  as_root timeout 900 env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq "${missing[@]}" >/dev/null
fi
