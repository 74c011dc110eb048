"""The serving process's ASGI application (`python -m serving` runs it). Django is set up for its ORM and
settings only: requests never go through Django's handler, middleware or URLconf (see serving.app)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.config.settings.local")
# The web process opens a database connection per request and closes it after (CONN_MAX_AGE 0). Here every
# query runs in one of two long-lived threads, each with its own connection: keep them open instead of
# reconnecting for every batch. A connection that broke is replaced on its thread's next use.
os.environ.setdefault("DISTILLERY_DB_CONN_MAX_AGE", "600")
django.setup()

from serving.app import ServingApp  # noqa: E402 - needs the apps loaded
from serving.config import config_from_env  # noqa: E402

application = ServingApp(config_from_env())
