"""pytest: the same real services as production (PostgreSQL, Redis), on the test instance's ports."""

import os

os.environ.setdefault("DISTILLERY_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("DISTILLERY_DB_PORT", "54339")
os.environ.setdefault("DISTILLERY_REDIS_URL", "redis://127.0.0.1:63809/0")

from webapp.config.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

# Serve static files straight from static/ (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns about a missing folder
