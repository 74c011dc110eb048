"""Where a worker keeps files: produced models (under MODEL_ROOT) and resume checkpoints (under DATA_DIR)."""

from pathlib import Path

from django.conf import settings


def checkpoint_path(job_id: int) -> Path:
    """Stable per job, so a re-delivered job finds the checkpoint of its earlier attempt."""
    folder = Path(settings.DATA_DIR) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"job-{job_id}.pt"


def model_folder(task_id: int, name: str) -> tuple[Path, str]:
    """Where a produced model goes, and the model ref (relative to MODEL_ROOT) that loads it again."""
    relative = Path("distillery") / f"task-{task_id}" / name
    return Path(settings.MODEL_ROOT) / relative, f"./{relative}"
