#!/usr/bin/env bash
# `make test`: install what is missing (Chromium too), start the test instance's PostgreSQL and
# Redis, lint and type-check, run pytest (which starts Daphne and a Celery worker itself), and
# stop every server again, whatever happened.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/install.sh --with-browser
# shellcheck source=scripts/env.sh
source scripts/env.sh test
trap 'scripts/services.sh stop test' EXIT
scripts/services.sh start test

echo "==> ruff"
ruff check .
ruff format --check .
echo "==> mypy (strict on workers/ml, domain and the pure modules)"
mypy
echo "==> import contracts (lint-imports)"
lint-imports
echo "==> manage.py check --deploy (production settings)"
DJANGO_SETTINGS_MODULE=webapp.config.settings.production DISTILLERY_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))') \
  python manage.py check --deploy --fail-level WARNING
echo "==> pytest"
python -m pytest "$@"
