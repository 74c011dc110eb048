"""Archiving (soft deletion) of tasks, datasets, teachers and students, and undoing it. Members archive, in
their own team only. Nothing is deleted: files stay, and evaluations, jobs and approvals keep pointing at the
rows, so the evidence reads as before; archived rows only leave the lists and pickers, and no job starts on them.

A model that an active deployment serves (or falls back to) can't be archived: revoke the deployment first."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from webapp.accounts.models import Role, Team
from webapp.accounts.selectors import require_role
from webapp.registry.models import Dataset, Student, Task, Teacher

Item = Task | Dataset | Teacher | Student

# The approvals app's Deployment.State.ACTIVE, read through the reverse relation "deployments" so that the
# registry, which approvals builds on, does not import it.
_ACTIVE_DEPLOYMENT = "active"


def item_kind(item: Item) -> str:
    return {Task: "task", Dataset: "dataset", Teacher: "teacher", Student: "student"}[type(item)]


def _team(item: Item) -> Team:
    return item.team if isinstance(item, Task) else item.task.team


@transaction.atomic
def item_archive(*, item: Item, user: AbstractBaseUser) -> Item:
    """Archive `item` (a student with its int8 variants), or raise ValidationError saying why not."""
    require_role(user=user, team=_team(item), role=Role.MEMBER)
    item.refresh_from_db(fields=["archived_at"])
    if item.is_archived:
        raise ValidationError(f"{item_kind(item).capitalize()} '{item}' is already archived.")
    together: list[Item] = [item]
    if isinstance(item, Student):
        together += list(item.variants.active())
    _refuse_if_serving(together)
    now = timezone.now()
    for each in together:
        each.archived_at, each.archived_by = now, user
        each.save(update_fields=["archived_at", "archived_by"])
    return item


@transaction.atomic
def item_restore(*, item: Item, user: AbstractBaseUser) -> Item:
    """Bring an archived item back (a student with the variants archived along with it)."""
    require_role(user=user, team=_team(item), role=Role.MEMBER)
    item.refresh_from_db(fields=["archived_at"])
    if not item.is_archived:
        raise ValidationError(f"{item_kind(item).capitalize()} '{item}' is not archived.")
    together: list[Item] = [item]
    if isinstance(item, Student):
        together += list(item.variants.filter(archived_at=item.archived_at))
    for each in together:
        each.archived_at, each.archived_by = None, None
        each.save(update_fields=["archived_at", "archived_by"])
    return item


def _refuse_if_serving(items: Iterable[Item]) -> None:
    for item in items:
        if isinstance(item, Dataset):
            continue
        active = item.deployments.filter(state=_ACTIVE_DEPLOYMENT).first()
        if active is not None:
            role = {Student: "serves", Teacher: "falls back to", Task: "belongs to"}[type(item)]
            subject = f"the task '{item}'" if isinstance(item, Task) else f"'{item}'"
            raise ValidationError(
                f"Deployment #{active.pk} is active and {role} {subject}: it can't be archived while it serves "
                "traffic. Revoke the deployment (or deploy another student) first."
            )


def require_not_archived(*items: Item | None) -> None:
    """Refuse to start work on archived things, naming them and how to bring them back."""
    archived = [item for item in items if item is not None and item.is_archived]
    if archived:
        names = ", ".join(f"{item_kind(item)} '{item}'" for item in archived)
        pronoun = "it" if len(archived) == 1 else "them"
        raise ValidationError(f"Archived: {names}. Restore {pronoun} from the Archived list to use {pronoun} again.")
