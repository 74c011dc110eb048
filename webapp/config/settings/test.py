"""pytest: the same real services as production (PostgreSQL, Redis), on the test instance's ports."""

import hashlib
import os
from pathlib import Path


def checkout_test_ports(root: Path) -> tuple[int, int]:
    """PostgreSQL and Redis ports of this checkout's test instance: the same pair scripts/env.sh derives."""
    checkout_hash = int(hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8], 16)
    pg_port = 20000 + (checkout_hash % 6000) * 2
    return pg_port, pg_port + 1


_pg_port, _redis_port = checkout_test_ports(Path(__file__).resolve().parents[3])
os.environ.setdefault("DISTILLERY_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("DISTILLERY_DB_PORT", str(_pg_port))
os.environ.setdefault("DISTILLERY_REDIS_URL", f"redis://127.0.0.1:{_redis_port}/0")

from webapp.config.settings.base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

# Serve static files straight from static/ (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns about a missing folder
