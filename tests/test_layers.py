"""The worker side computes and the webapp records: no handler and no runner writes a row itself."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ORM writes: saving, creating, updating or deleting rows, directly or through a queryset.
WRITES = re.compile(
    r"\.objects\.(create|bulk_create|bulk_update|update|update_or_create|get_or_create)\("  # through a manager
    r"|\)\.(update|delete)\("  # on a queryset
    r"|\.save\(|\.delete\(\)"  # on a row
)


def test_no_handler_or_runner_writes_a_row() -> None:
    sources = [*sorted((ROOT / "workers" / "handlers").glob("*.py")), ROOT / "workers" / "runner.py"]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if WRITES.search(line) and "torch.save" not in line
    ]
    assert offenders == []


def test_the_write_check_would_see_a_write() -> None:
    for write in (
        "Student.objects.create(task=task)",
        "row.save(update_fields=[])",
        "Job.objects.filter(pk=1).update(x=1)",
    ):
        assert WRITES.search(write), write
    assert not WRITES.search("held.update(members)")  # a set, not a row
