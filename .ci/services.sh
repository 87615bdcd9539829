#!/usr/bin/env bash
# Starts PostgreSQL, MariaDB and Redis on this machine if they are not
# answering, with the commands from shared/DESIGN.md, and waits until they
# answer. Safe to run when they are already up.
set -uo pipefail

up() { # name, check command
  for _ in $(seq 1 60); do
    if eval "$2" >/dev/null 2>&1; then echo "services: $1 is up"; return 0; fi
    sleep 0.5
  done
  echo "services: $1 did not come up" >&2
  return 1
}

pg_check="pg_isready -q -h 127.0.0.1 -p 5432"
if ! eval "$pg_check" >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi

redis_check="redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG"
if ! eval "$redis_check" >/dev/null 2>&1 && command -v redis-server >/dev/null; then
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi

maria_check="mariadb -uroot -h127.0.0.1 -P3306 -e 'select 1'"
if ! eval "$maria_check" >/dev/null 2>&1 && [ -x /usr/sbin/mariadbd ]; then
  echo "services: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi

status=0
up PostgreSQL "$pg_check" || status=1
up Redis "$redis_check" || status=1
up MariaDB "$maria_check" || status=1
exit $status
