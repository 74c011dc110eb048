# shellcheck shell=bash
# Environment of one local Distillery instance ("dev" for `make run`, "test" for `make test`).
# Sourced by the other scripts; every value can be overridden from the caller's environment.
instance=${1:-dev}
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# The test instance's ports are private to the checkout (derived from its path, a pair in 20000-31999,
# below Linux's ephemeral range), so two checkouts' `make test` runs never stop each other's servers.
# webapp/config/settings/test.py derives the same pair when pytest runs without this file.
checkout_hash=$(printf %s "$(cd "$ROOT" && pwd -P)" | sha256sum | cut -c1-8)
test_pg_port=$((20000 + (16#$checkout_hash % 6000) * 2))
case "$instance" in
  dev)  default_pg_port=54329; default_redis_port=63799; default_settings=webapp.config.settings.local ;;
  test) default_pg_port=$test_pg_port; default_redis_port=$((test_pg_port + 1)); default_settings=webapp.config.settings.test ;;
  *) echo "unknown instance '$instance' (expected dev or test)" >&2; return 2 ;;
esac
export DISTILLERY_INSTANCE=$instance
export DISTILLERY_VAR=${DISTILLERY_VAR:-$ROOT/var/$instance}
export DISTILLERY_DB_HOST=${DISTILLERY_DB_HOST:-127.0.0.1}
export DISTILLERY_DB_PORT=${DISTILLERY_DB_PORT:-$default_pg_port}
export DISTILLERY_DB_NAME=${DISTILLERY_DB_NAME:-distillery}
export DISTILLERY_DB_USER=${DISTILLERY_DB_USER:-distillery}
export DISTILLERY_REDIS_PORT=${DISTILLERY_REDIS_PORT:-$default_redis_port}
export DISTILLERY_REDIS_URL=${DISTILLERY_REDIS_URL:-redis://127.0.0.1:$DISTILLERY_REDIS_PORT/0}
export DISTILLERY_DATA_DIR=${DISTILLERY_DATA_DIR:-$DISTILLERY_VAR/data}
export DISTILLERY_MODEL_ROOT=${DISTILLERY_MODEL_ROOT:-$DISTILLERY_VAR/models}
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-$default_settings}
# Air-gapped by default: models come from presets, MODEL_ROOT or the local HF cache only.
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
export TRANSFORMERS_OFFLINE=${TRANSFORMERS_OFFLINE:-1}
export PATH="$ROOT/.venv/bin:$PATH"
