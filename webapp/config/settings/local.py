"""`make run` on one machine: debug off by default too, but a throwaway key is allowed."""

import os

os.environ.setdefault("DISTILLERY_SECRET_KEY", "local-only-not-secret-set-DISTILLERY_SECRET_KEY")

from webapp.config.settings.base import *  # noqa: F403

# Serve static files straight from static/ (no collectstatic needed outside production).
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns about a missing folder
