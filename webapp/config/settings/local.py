"""`make run` on one machine: debug off by default too, but a throwaway key is allowed."""

import os

os.environ.setdefault("DISTILLERY_SECRET_KEY", "local-only-not-secret-set-DISTILLERY_SECRET_KEY")

from webapp.config.settings.base import *  # noqa: F403
