"""`make run` on one machine: debug off by default too, but a throwaway key is allowed."""

import os

os.environ.setdefault("DISTILLERY_SECRET_KEY", "local-only-not-secret-set-DISTILLERY_SECRET_KEY")

from webapp.config.settings.base import *  # noqa: F403

# Static files as production serves them: scripts/run.sh runs collectstatic, which writes every file under a
# content-hashed name with a gzip copy beside it (brotli too where the Brotli package is installed); WhiteNoise
# sends the compressed copy to browsers that accept it (plotly.min.js: 4.8 MB, about 1.4 MB gzipped) and
# caches hashed names for a year, so a chart page no longer downloads plotly.js again every 60 s.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# With DISTILLERY_DEBUG=1, `{% static %}` names files unhashed (Django does in DEBUG) and they are served
# straight from static/ and the plotly package, edited files included, without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns about a missing folder
