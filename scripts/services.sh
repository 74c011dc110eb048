#!/usr/bin/env bash
# Starts/stops the local PostgreSQL and Redis of one instance, data under var/<instance>/.
# PostgreSQL refuses to run as root, so as root the server runs as Debian's `postgres` user.
# usage: scripts/services.sh start|stop|status [dev|test] [postgres|redis]   (both when not named)
set -euo pipefail
action=${1:?usage: services.sh start|stop|status [dev|test] [postgres|redis]}
only=${3:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh" "${2:-dev}"

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_bin" ] || { echo "PostgreSQL is not installed: run scripts/install.sh" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
# (cd /: postgres may not be allowed into the caller's working directory)
as_pg() { if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

mkdir -p "$DISTILLERY_VAR/redis"
pgdata="$DISTILLERY_VAR/pg"
if is_root; then
  mkdir -p "$pgdata"
  chown postgres: "$pgdata"
  chmod 700 "$pgdata"
  # A checkout under a private home (e.g. /root) is not reachable by `postgres`: keep the
  # cluster in a per-checkout folder under /var/tmp instead, and point var/ at it.
  if ! runuser -u postgres -- test -w "$pgdata"; then
    alt="/var/tmp/distillery-$(echo "$DISTILLERY_VAR" | sha256sum | cut -c1-12)/pg"
    mkdir -p "$alt"; chown postgres: "$alt" "$(dirname "$alt")"; chmod 700 "$alt"
    echo "$alt" > "$DISTILLERY_VAR/pg.location"
    pgdata=$alt
  fi
fi

pg_running() { as_pg "$pg_bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; }
redis_running() { redis-cli -p "$DISTILLERY_REDIS_PORT" ping >/dev/null 2>&1; }

start() {
  if [ ! -s "$pgdata/PG_VERSION" ]; then
    echo "==> initialising PostgreSQL in $pgdata"
    # Trust on loopback only: this cluster is private to this checkout and listens on 127.0.0.1.
    as_pg "$pg_bin/initdb" -D "$pgdata" -U "$DISTILLERY_DB_USER" -A trust -E UTF8 --no-locale >/dev/null
  fi
  if ! pg_running; then
    as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 \
      -o "-p $DISTILLERY_DB_PORT -c listen_addresses=127.0.0.1 -k $pgdata" start >/dev/null
  fi
  psql=("$pg_bin/psql" -h 127.0.0.1 -p "$DISTILLERY_DB_PORT" -U "$DISTILLERY_DB_USER" -d postgres -qtA)
  if [ -z "$("${psql[@]}" -c "select 1 from pg_database where datname='$DISTILLERY_DB_NAME'")" ]; then
    "${psql[@]}" -c "create database \"$DISTILLERY_DB_NAME\"" >/dev/null
  fi
  if ! redis_running; then
    redis-server --port "$DISTILLERY_REDIS_PORT" --bind 127.0.0.1 --dir "$DISTILLERY_VAR/redis" \
      --daemonize yes --pidfile "$DISTILLERY_VAR/redis/redis.pid" \
      --logfile "$DISTILLERY_VAR/redis/redis.log" --save 60 1 --appendonly no >/dev/null
    for _ in $(seq 50); do redis_running && break; sleep 0.1; done
  fi
  redis_running || { echo "Redis did not start: see $DISTILLERY_VAR/redis/redis.log" >&2; exit 1; }
  echo "==> PostgreSQL on 127.0.0.1:$DISTILLERY_DB_PORT, Redis on 127.0.0.1:$DISTILLERY_REDIS_PORT ($DISTILLERY_INSTANCE)"
}

# One service alone can be stopped too: the outage tests take PostgreSQL or Redis away mid-test.
stop() {
  if [ "$only" != redis ]; then
    pg_running && as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null || true
  fi
  if [ "$only" != postgres ]; then
    redis_running && redis-cli -p "$DISTILLERY_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
}

case "$action" in
  start) start ;;
  stop) stop ;;
  status) pg_running && echo "postgres: running" || echo "postgres: stopped"
          redis_running && echo "redis: running" || echo "redis: stopped" ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
