"""Token lengths of a dataset under the teacher's tokenizer: how much truncation max_length causes."""

from domain.results import Profiled
from domain.specs import ProfileSpec
from workers.errors import JobFailed
from workers.handlers.base import JobContext, load_dataset, load_teacher


def profile_dataset(spec: ProfileSpec, ctx: JobContext) -> Profiled:
    import torch

    from workers.ml.device import device_info
    from workers.ml.tokenizer_profile import TokenizerProfileConfig, load_tokenizer, profile_texts

    task_id, reporter = ctx.job.task_id, ctx.reporter
    ctx.ledger.device = device_info(torch.device("cpu"))  # tokenizing needs no accelerator
    dataset = load_dataset(spec.dataset_id, task_id=task_id)
    teacher, model = load_teacher(spec.teacher_id, task_id=task_id)
    reporter.log(f"dataset '{dataset}' ({dataset.row_count} rows), tokenizer of '{teacher}' from {model.path}")
    texts = [row["text"] for row in dataset.rows()]
    config = TokenizerProfileConfig(model_path=model.path, max_length=spec.max_length)
    try:
        load_tokenizer(model.path)  # fail early, with a message, before the progress bar starts
    except (OSError, ValueError) as exc:
        raise JobFailed(f"The tokenizer of teacher '{teacher}' could not be loaded from {model.path}: {exc}") from exc
    profile = profile_texts(texts, config, reporter)
    share = profile.truncated_share
    return Profiled(
        message=f"{profile.rows} rows profiled; {share:.1%} truncated at {config.max_length}.",
        summary=profile.to_dict() | {"dataset_id": dataset.pk, "dataset": str(dataset), "teacher_id": teacher.pk},
    )
