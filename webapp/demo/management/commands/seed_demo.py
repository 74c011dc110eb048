"""Creates (once) a demo admin, a demo team and a demo task with synthetic data and the offline
teacher, starts the demo's jobs (or the step that failed last time), then prints how to log in. Safe to
run on every `make run`: what exists is reused."""

import io
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from webapp.accounts.models import Membership, Role, Team
from webapp.demo.models import DemoRun
from webapp.demo.pipeline import demo_advance
from webapp.registry.demo_data import demo_jsonl
from webapp.registry.models import Dataset, Task
from webapp.registry.services import dataset_upload, task_create, teacher_register

# A share of tickets that ask two things at once (either label): real traffic's ambiguity, without which the
# demo's models are certain of every row and its threshold, calibration and certificate show nothing.
DEMO_AMBIGUOUS = 0.15

DEMO_USER = "admin"
DEMO_MEMBER = "sam-demo-member"  # asks for approval, so the admin can decide (nobody decides their own)
DEMO_TEAM = "Demo team"
DEMO_TASK = "Ticket routing (synthetic demo)"


class Command(BaseCommand):
    help = "Create the demo user, team, task, synthetic datasets and offline teacher if missing; run the demo."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-jobs", action="store_true", help="Seed the data only; start no demo job.")

    def handle(self, *args: Any, no_jobs: bool = False, **options: Any) -> None:
        password = self._ensure_admin()
        with transaction.atomic():
            user = get_user_model().objects.get(username=DEMO_USER)
            team, _ = Team.objects.get_or_create(name=DEMO_TEAM)
            Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.ADMIN})
            task = Task.objects.filter(team=team, name=DEMO_TASK).first() or task_create(
                team=team,
                user=user,
                name=DEMO_TASK,
                description="Route support tickets to one of 6 intents. Its data is synthetic, made by Distillery.",
                requests_per_month=2_000_000,
                mean_input_tokens=40,
                mean_output_tokens=3,
            )
            # Validation as large as the synthetic pool allows (~200 rows): enough to certify a τ at the demo's
            # 95% target and for the monitoring page's confidence-shift signals (they need 100 rows).
            demo_sets = ((Dataset.Role.TRAIN, 100, 1), (Dataset.Role.VALIDATION, 60, 2), (Dataset.Role.TEST, 20, 3))
            for role, per_intent, seed in demo_sets:
                if not task.datasets.filter(role=role, synthetic=True).exists():
                    dataset_upload(
                        task=task,
                        user=user,
                        file=io.BytesIO(
                            demo_jsonl(per_intent=per_intent, seed=seed, pool=role, ambiguous=DEMO_AMBIGUOUS)
                        ),
                        filename=f"synthetic-{role}.jsonl",
                        role=role,
                        name=f"synthetic {role}",
                        synthetic=True,
                    )
            if not task.teachers.exists():
                teacher_register(
                    task=task,
                    user=user,
                    name="MiniLM-L6 (offline)",
                    model_ref="minilm-l6-offline",
                    price_input_per_m=2.5,
                    price_output_per_m=10.0,
                )
            member = get_user_model().objects.filter(username=DEMO_MEMBER).first()
            if member is None:
                member = get_user_model().objects.create_user(DEMO_MEMBER, password=secrets.token_urlsafe(24))
            Membership.objects.get_or_create(team=team, user=member, defaults={"role": Role.MEMBER})
            run, _ = DemoRun.objects.get_or_create(task=task, defaults={"admin": user, "member": member})
        if not no_jobs:
            run = demo_advance(run.pk, retry=True)
            state = "ready" if run.finished_at else ("stopped: " + run.message if run.failed else "in progress")
            self.stderr.write(f"Demo: {state} (its jobs run on the worker; the task's overview shows each step)")
        self.stdout.write(f"Demo login: {DEMO_USER} / {password}")

    def _ensure_admin(self) -> str:
        """The demo password is random per installation and kept in var/ (mode 600), so the same
        login keeps working across runs; DISTILLERY_DEMO_PASSWORD sets it explicitly."""
        secret_file = Path(os.environ.get("DISTILLERY_VAR", settings.BASE_DIR / "var")) / "demo-login.txt"
        password = os.environ.get("DISTILLERY_DEMO_PASSWORD") or (
            secret_file.read_text().strip() if secret_file.exists() else secrets.token_urlsafe(12)
        )
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(password + "\n")
        secret_file.chmod(0o600)
        users = get_user_model().objects
        user = users.filter(username=DEMO_USER).first()
        if user is None:
            users.create_superuser(DEMO_USER, email="", password=password)
        elif not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        return password
