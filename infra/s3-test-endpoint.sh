#!/usr/bin/env bash
# Starts moto_server, an S3-compatible endpoint for tests, on 127.0.0.1:${FORGE_S3_PORT:-5900}, and waits until it answers.
# moto comes preinstalled on the Forge development and CI machines (pip package 'moto[server]' elsewhere).
# Idempotent: does nothing when the port already answers.
set -euo pipefail
port="${FORGE_S3_PORT:-5900}"
log="${TMPDIR:-/tmp}/forge-moto-${port}.log"

answers() { curl -s -o /dev/null "http://127.0.0.1:${port}/" 2>/dev/null; }

if answers; then
  echo "s3: already answering on 127.0.0.1:${port}"
  exit 0
fi
if ! command -v moto_server >/dev/null 2>&1; then
  echo "s3: moto_server is not installed (pip install 'moto[server]'); S3 tests will skip" >&2
  exit 1
fi
nohup moto_server -H 127.0.0.1 -p "${port}" >"${log}" 2>&1 &
for _ in $(seq 1 60); do
  if answers; then
    echo "s3: moto_server ready on 127.0.0.1:${port} (log: ${log})"
    exit 0
  fi
  sleep 0.5
done
echo "s3: moto_server did not answer in 30 s; see ${log}" >&2
exit 1
