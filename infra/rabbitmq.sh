#!/usr/bin/env bash
# Installs (from Debian) and starts a local RabbitMQ on 127.0.0.1:5672, then waits until it answers.
# Idempotent: does nothing but the readiness check when RabbitMQ already runs.
# Every wait is bounded: after 90 s without a broker it prints the end of the broker's log and exits 1.
# Once the broker answers, it tidies what earlier test runs left (see tidy below).
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# The AMQP port accepts connections: the broker has finished booting (it opens the listener last).
answers() { timeout 3 bash -c '</dev/tcp/127.0.0.1/5672' 2>/dev/null; }

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "rabbitmq: installing Debian's rabbitmq-server"
  as_root timeout 600 apt-get -o DPkg::Lock::Timeout=120 update -qq
  as_root timeout 900 env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq rabbitmq-server >/dev/null
fi

# The tests' bus prefixes ("e2e-<hex>", "sweeps-<hex>", ...): each run declares its own queues and exchanges.
test_names='^(e2e|sweeps|replicas|checkpoints)-[0-9a-f]{8,}[-.]'

# Test runs' queues expire once unused (the tests set x-expires; this policy covers queues declared before they did).
# Their exchanges, which nothing expires, are deleted once they lead nowhere: an exchange whose queue has expired
# first, then the exchanges that only led to it, and so on; a run still going keeps its exchanges, which lead to its
# queues. Best effort: a failure only leaves them.
tidy() {
  as_root timeout 30 rabbitmqctl -q set_policy --apply-to queues forge-test-queues "$test_names" '{"expires":600000}' >/dev/null 2>&1 || true
  local total=0 deleted
  for _ in 1 2 3 4 5 6; do
    deleted=$(as_root timeout 60 rabbitmqctl eval "
      Idle = [element(2, X) || X <- rabbit_exchange:list(<<\"/\">>),
              re:run(element(4, element(2, X)), \"$test_names\") =/= nomatch,
              rabbit_binding:list_for_source(element(2, X)) =:= []],
      [rabbit_exchange:delete(Name, false, <<\"forge-tests\">>) || Name <- Idle],
      length(Idle)." 2>/dev/null) || break
    [[ "$deleted" =~ ^[0-9]+$ ]] && [ "$deleted" -gt 0 ] || break
    total=$((total + deleted))
  done
  [ "$total" -gt 0 ] && echo "rabbitmq: removed ${total} exchanges left by earlier test runs"
  return 0
}

if answers; then
  echo "rabbitmq: already answering on 127.0.0.1:5672"
  tidy
  exit 0
fi

if ! as_root timeout 30 rabbitmqctl -q status >/dev/null 2>&1; then
  echo "rabbitmq: starting"
  # Containers and CI machines often run without systemd, so start the broker directly, as its own user, with
  # the file-handle limit raised: `su` resets it to 1,024, and a broker that has to recover more queues than it
  # has handles (leftovers of earlier runs) never finishes booting.
  if id rabbitmq >/dev/null 2>&1; then
    as_root su rabbitmq -s /bin/sh -c \
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null; cd /var/lib/rabbitmq && RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 exec /usr/lib/rabbitmq/bin/rabbitmq-server -detached' \
      >/dev/null 2>&1 || as_root service rabbitmq-server start || true
  else
    as_root env RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached >/dev/null 2>&1 \
      || as_root service rabbitmq-server start || true
  fi
fi

started=$(date +%s)
while [ $(( $(date +%s) - started )) -lt 90 ]; do
  if answers; then
    echo "rabbitmq: ready on 127.0.0.1:5672 after $(( $(date +%s) - started )) s"
    tidy
    exit 0
  fi
  sleep 1
done
echo "rabbitmq: did not answer on 127.0.0.1:5672 in 90 s; the end of its log:" >&2
as_root sh -c 'tail -n 20 /var/log/rabbitmq/rabbit@*.log' >&2 2>/dev/null || true
exit 1
