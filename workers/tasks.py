"""Celery tasks: thin. They take ids, hand over to the runner, and import heavy code inside."""

from workers.celery_app import app

# Training can run for hours; a hard limit still stops a wedged job (the reaper then sees it).
SOFT_LIMIT_SECONDS = 24 * 3600


@app.task(
    name="distillery.run_job", acks_late=True, soft_time_limit=SOFT_LIMIT_SECONDS, time_limit=SOFT_LIMIT_SECONDS + 600
)
def run_job(job_id: int) -> None:
    from workers.runner import run_job as run

    run(job_id)


@app.task(name="distillery.reap_lost_jobs", ignore_result=True)
def reap_lost_jobs() -> int:
    from webapp.jobs.services import jobs_reap_lost

    return jobs_reap_lost()


@app.task(name="distillery.check_monitoring", ignore_result=True, soft_time_limit=600, time_limit=660)
def check_monitoring() -> int:
    from webapp.approvals.monitoring_services import monitoring_check_active

    return monitoring_check_active()
