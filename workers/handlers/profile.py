from webapp.jobs.models import Job
from webapp.registry.selectors import dataset_rows
from workers.errors import JobFailed
from workers.handlers.base import Outcome, load_dataset, load_teacher
from workers.reporter import JobReporter


def profile_dataset(job: Job, reporter: JobReporter) -> Outcome:
    """Token lengths of a dataset under the teacher's tokenizer: how much truncation max_length causes."""
    from workers.ml.tokenizer_profile import TokenizerProfileConfig, load_tokenizer, profile_texts

    dataset = load_dataset(job.params["dataset_id"], task_id=job.task_id)
    teacher, model = load_teacher(job.params["teacher_id"], task_id=job.task_id)
    reporter.log(f"dataset '{dataset}' ({dataset.row_count} rows), tokenizer of '{teacher}' from {model.path}")
    texts = [row["text"] for row in dataset_rows(dataset)]
    config = TokenizerProfileConfig(model_path=model.path, max_length=int(job.params["max_length"]))
    try:
        load_tokenizer(model.path)  # fail early, with a message, before the progress bar starts
    except (OSError, ValueError) as exc:
        raise JobFailed(f"The tokenizer of teacher '{teacher}' could not be loaded from {model.path}: {exc}") from exc
    profile = profile_texts(texts, config, reporter)
    result = profile.to_dict() | {"dataset_id": dataset.pk, "dataset": str(dataset), "teacher_id": teacher.pk}
    share = profile.truncated_share
    return Outcome(
        result=result, message=f"{profile.rows} rows profiled; {share:.1%} truncated at {config.max_length}."
    )
