#!/usr/bin/env bash
# `make run`: install what is missing, start PostgreSQL + Redis, migrate, seed the demo, then serve
# the dashboard (Daphne), a Celery worker (queues gpu + default), Celery beat and the serving process
# (the deployed cascades' prediction API, `python -m serving`). Ctrl-C stops all.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/install.sh --with-browser  # Chromium prints the stakeholder report PDF
# shellcheck source=scripts/env.sh
source scripts/env.sh dev
bind=${DISTILLERY_BIND:-127.0.0.1}
port=${DISTILLERY_PORT:-8000}
serving_port=${DISTILLERY_SERVING_PORT:-8100}
logs="$DISTILLERY_VAR/logs"
mkdir -p "$logs"

for pair in "$port:DISTILLERY_PORT" "$serving_port:DISTILLERY_SERVING_PORT"; do
  p=${pair%%:*}
  if python -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $p)) != 0)"; then
    echo "Port $p is already in use (is Distillery already running?). Stop it, or set ${pair#*:}." >&2
    exit 1
  fi
done

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "==> stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/services.sh stop dev
  echo "==> stopped"
}
trap stop_all INT TERM EXIT

scripts/services.sh start dev
python manage.py migrate --no-input -v0
# Hashed, gzipped copies that WhiteNoise serves compressed and caches for a year (settings/local.py).
python manage.py collectstatic --no-input -v0
login=$(python manage.py seed_demo)

daphne -b "$bind" -p "$port" webapp.config.asgi:application >"$logs/web.log" 2>&1 &
pids+=($!)
# --pool=solo: CUDA does not survive fork; one worker process per GPU.
celery -A workers.celery_app worker -Q gpu,default --pool=solo -n "worker@%h" --loglevel=INFO >"$logs/worker.log" 2>&1 &
pids+=($!)
celery -A workers.celery_app beat -s "$DISTILLERY_VAR/celerybeat-schedule" --loglevel=INFO >"$logs/beat.log" 2>&1 &
pids+=($!)
# Its own process (and port): deployed cascades answer here, apart from the dashboard. More of them can run
# behind a load balancer; they share nothing but the database.
python -m serving --host "$bind" --port "$serving_port" >"$logs/serving.log" 2>&1 &
pids+=($!)

python - "$port" "$serving_port" <<'PY'
import sys, time, urllib.request
for port in sys.argv[1:]:
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
PY
cat <<MSG

  Distillery is running:  http://$bind:$port/
  $login
  Serving (deployed cascades):  http://$bind:$serving_port/v1/deployments/<id>/predict
  Logs: $logs/{web,worker,beat,serving}.log     Stop: Ctrl-C

MSG
# Exit (and stop everything) as soon as any of the four processes dies.
wait -n "${pids[@]}"
echo "==> a process exited; see $logs" >&2
