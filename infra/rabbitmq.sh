#!/usr/bin/env bash
# Installs (from Debian) and starts a local RabbitMQ on 127.0.0.1:5672, then waits until it answers.
# Idempotent: does nothing but the readiness check when RabbitMQ already runs.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "rabbitmq: installing Debian's rabbitmq-server"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
fi

if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
  echo "rabbitmq: starting"
  # Containers and CI machines often run without systemd, so start the broker directly.
  as_root env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached >/dev/null 2>&1 \
    || as_root service rabbitmq-server start
fi

for _ in $(seq 1 90); do
  if as_root rabbitmqctl -q await_startup >/dev/null 2>&1 && as_root rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; then
    echo "rabbitmq: ready on 127.0.0.1:5672"
    exit 0
  fi
  sleep 1
done
echo "rabbitmq: did not become ready in 90 s" >&2
exit 1
