"""Re-hash audit chains: every team's in the database, or an exported JSON-lines file. Exits 1 when a chain is
broken, naming the first broken entry."""

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from webapp.accounts.models import Team
from webapp.approvals.audit import ChainReport, chain_verify, team_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the audit log (the database's, or an export file's)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("export", nargs="?", help="A JSON-lines export of one team's chain (the audit page's).")

    def handle(self, *args: Any, export: str | None = None, **options: Any) -> None:
        reports = {export: _verify_file(Path(export))} if export else {
            team.name: chain_verify(team_chain(team)) for team in Team.objects.order_by("name")
        }  # fmt: skip
        broken = False
        for name, report in reports.items():
            if report.intact:
                self.stdout.write(f"{name}: intact, {report.entries} entries, head {report.head}")
            else:
                broken = True
                self.stdout.write(f"{name}: BROKEN at entry #{report.broken_at}: {report.problem}")
        if broken:
            raise CommandError("An audit chain is broken.")


def _verify_file(path: Path) -> ChainReport:
    if not path.is_file():
        raise CommandError(f"No such file: {path}")
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            fields = json.loads(line)
            fields["created_at"] = parse_datetime(fields["created_at"])
            fields["team_id"] = fields.pop("team")
            entries.append(SimpleNamespace(**fields))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CommandError(f"Line {number} of {path} is not an audit entry ({exc}).") from exc
    return chain_verify(entries)  # type: ignore[arg-type]
