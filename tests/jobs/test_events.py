"""Each live event type: a job update reaches the job's group and its task's group (over Redis)."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from webapp.jobs.events import job_group, publish_job_update, task_jobs_group
from webapp.jobs.payloads import job_payload


def test_a_job_update_reaches_both_the_job_page_and_the_task_job_list(job) -> None:
    layer = get_channel_layer()
    channels = {}
    for group in (job_group(job.pk), task_jobs_group(job.task_id)):
        channels[group] = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group, channels[group])
    job.message = "halfway"
    publish_job_update(job)
    for channel in channels.values():
        message = async_to_sync(layer.receive)(channel)
        assert message == {"type": "job.update", "job": job_payload(job)}
        assert message["job"]["message"] == "halfway"


def test_the_payload_is_the_status_endpoints_json(web, member, job) -> None:
    response = web(member).get(f"/jobs/{job.pk}/status.json")
    assert response.json() == job_payload(job) | {"elapsed_seconds": None, "eta_seconds": None}
