"""The Celery app. Workers: `celery -A workers.celery_app worker -Q gpu,default --pool=solo`.

`--pool=solo` because CUDA does not survive fork; run one worker process per GPU.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.config.settings.local")

app = Celery("distillery", include=["workers.tasks"])
# How often beat checks every active deployment's monitoring (alerts are recorded even if nobody looks).
MONITORING_CHECK_SECONDS = 300.0
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_finalize.connect
def _schedule_periodic_tasks(sender: Celery, **_: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.JOB_REAPER_INTERVAL_SECONDS),
        sender.signature("distillery.reap_lost_jobs"),
        name="reap lost jobs",
    )
    sender.add_periodic_task(
        MONITORING_CHECK_SECONDS, sender.signature("distillery.check_monitoring"), name="check deployment monitoring"
    )
