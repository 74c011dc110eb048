import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import TEACHER_REF, TRAIN_CSV, upload
from webapp.api.serializers import JobSerializer
from webapp.jobs.models import Job
from webapp.jobs.payloads import job_payload
from webapp.jobs.services import profile_job_start
from webapp.registry.models import Task
from webapp.registry.services import dataset_upload, task_create

pytestmark = pytest.mark.django_db


def jobs_url(task: Task) -> str:
    return reverse("api-task-jobs", args=[task.pk])


def job_url(job: Job) -> str:
    return reverse("api-job-detail", args=[job.pk])


def cancel_url(job: Job) -> str:
    return reverse("api-job-cancel", args=[job.pk])


@pytest.fixture
def job(task, dataset, teacher, member) -> Job:
    return profile_job_start(task=task, dataset=dataset, teacher=teacher, user=member)


def start(client, task, dataset, teacher, **extra):
    body = {"kind": "profile_dataset", "dataset": dataset.pk, "teacher": teacher.pk, **extra}
    return client.post(jobs_url(task), body, format="json")


def test_a_member_uploads_a_csv_and_starts_a_profile_job(api, member, task):
    client = api(member)
    uploaded = client.post(
        reverse("api-task-datasets", args=[task.pk]),
        {"file": upload("train.csv", TRAIN_CSV), "role": "train"},
        format="multipart",
    )
    registered = client.post(reverse("api-task-teachers", args=[task.pk]), {"model_ref": TEACHER_REF}, format="json")
    assert (uploaded.status_code, registered.status_code) == (201, 201)

    response = client.post(
        jobs_url(task),
        {
            "kind": "profile_dataset",
            "dataset": uploaded.json()["id"],
            "teacher": registered.json()["id"],
            "max_length": 32,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    # The worker is only told after commit, which a test transaction never does: the row is the truth.
    assert (job.task, job.kind, job.status, job.queue, job.created_by) == (
        task,
        "profile_dataset",
        "queued",
        "default",
        member,
    )
    assert job.params == {"dataset_id": uploaded.json()["id"], "teacher_id": registered.json()["id"], "max_length": 32}
    assert response.json() == job_payload(job)
    assert client.get(job_url(job)).json() == job_payload(job)
    assert client.get(jobs_url(task)).json()["results"] == [job_payload(job)]


def test_the_job_json_is_the_same_as_the_web_status_endpoint(api, member, job):
    web = Client()
    web.force_login(member)

    assert api(member).get(job_url(job)).json() == web.get(reverse("job-status", args=[job.pk])).json()


def test_the_documented_job_fields_are_exactly_the_payload_keys(job):
    assert list(JobSerializer().fields) == list(job_payload(job))


def test_max_length_defaults_to_the_teachers(api, member, task, dataset, teacher):
    response = start(api(member), task, dataset, teacher)

    assert response.status_code == 201
    assert Job.objects.get(pk=response.json()["id"]).params["max_length"] == teacher.max_length


def test_a_viewer_can_read_jobs(api, viewer, task, job):
    client = api(viewer)

    assert client.get(jobs_url(task)).json()["results"] == [job_payload(job)]
    assert client.get(job_url(job)).json() == job_payload(job)


def test_a_viewer_cannot_start_a_job(api, viewer, task, dataset, teacher):
    assert start(api(viewer), task, dataset, teacher).status_code == 403
    assert api(viewer).post(jobs_url(task), {"kind": "nonsense"}, format="json").status_code == 403
    assert not Job.objects.exists()


def test_it_rejects_an_unknown_job_kind_naming_the_valid_ones(api, member, task, dataset, teacher):
    response = start(api(member), task, dataset, teacher, kind="train_student")

    assert response.status_code == 400
    assert response.json() == {"kind": ["Unknown kind 'train_student'; valid kinds: profile_dataset."]}


def test_it_rejects_a_max_length_out_of_range(api, member, task, dataset, teacher):
    response = start(api(member), task, dataset, teacher, max_length=100_000)

    assert response.status_code == 400
    assert "max_length" in response.json()


def test_it_rejects_a_dataset_of_another_task_of_the_team(api, member, team, task, teacher):
    other_task = task_create(team=team, user=member, name="Other")
    other_dataset = dataset_upload(
        task=other_task, user=member, file=upload("o.csv", TRAIN_CSV), filename="o.csv", role="train"
    )

    response = start(api(member), task, other_dataset, teacher)

    assert response.status_code == 400
    assert response.json() == {"dataset": ["This dataset belongs to another task ('Other')."]}
    assert not Job.objects.exists()


def test_another_teams_dataset_or_teacher_is_a_404(
    api, member, task, dataset, teacher, foreign_dataset, foreign_teacher
):
    client = api(member)

    assert start(client, task, foreign_dataset, teacher).status_code == 404
    assert start(client, task, dataset, foreign_teacher).status_code == 404
    assert not Job.objects.exists()


def test_a_member_cancels_a_queued_job(api, member, job):
    response = api(member).post(cancel_url(job))

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == "cancelled" and job.cancel_requested
    assert response.json() == job_payload(job)


def test_a_viewer_cannot_cancel_a_job(api, viewer, job):
    assert api(viewer).post(cancel_url(job)).status_code == 403
    job.refresh_from_db()
    assert job.status == "queued"


def test_an_outsider_gets_404_for_another_teams_jobs(api, outsider, task, dataset, teacher, job):
    client = api(outsider)

    assert client.get(jobs_url(task)).status_code == 404
    assert start(client, task, dataset, teacher).status_code == 404
    assert client.get(job_url(job)).status_code == 404
    assert client.post(cancel_url(job)).status_code == 404
    job.refresh_from_db()
    assert job.status == "queued"
