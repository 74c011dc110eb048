"""Archive and restore (members, own team only), the Archived list a task's things are restored from, and
the "Undo" in the message that follows an archive. POST only: a link must never change anything."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from webapp.registry.archiving import Item, item_archive, item_kind, item_restore
from webapp.registry.selectors import (
    archived_of_task,
    dataset_get_for_user,
    student_get_for_user,
    task_get_for_user,
    teacher_get_for_user,
)
from webapp.ui.context import task_context

# kind -> (URL kwarg, how to load it for this user: another team's is a 404)
LOADERS: dict[str, tuple[str, Callable[..., Item]]] = {
    "task": ("task_id", lambda user, pk: task_get_for_user(user=user, task_id=pk)),
    "dataset": ("dataset_id", lambda user, pk: dataset_get_for_user(user=user, dataset_id=pk)),
    "teacher": ("teacher_id", lambda user, pk: teacher_get_for_user(user=user, teacher_id=pk)),
    "student": ("student_id", lambda user, pk: student_get_for_user(user=user, student_id=pk)),
}
LIST_PAGES = {"task": "task-list", "dataset": "dataset-list", "teacher": "teacher-list", "student": "student-list"}


def _load(request: HttpRequest, kind: str, kwargs: dict[str, int]) -> Item:
    name, loader = LOADERS[kind]
    return loader(request.user, kwargs[name])


def _list_page(item: Item) -> str:
    kind = item_kind(item)
    if kind == "task":
        return reverse("task-list")
    return reverse(LIST_PAGES[kind], args=[item.task_id])  # type: ignore[union-attr]


def _undo_button(request: HttpRequest, item: Item) -> str:
    """A one-button form: the Undo in the success message restores with a POST, like the Archived list."""
    return format_html(
        '<form method="post" action="{}" class="inline-form"><input type="hidden" name="csrfmiddlewaretoken" '
        'value="{}"><button type="submit" class="link" data-testid="undo-archive">Undo</button></form>',
        reverse(f"{item_kind(item)}-restore", args=[item.pk]),
        get_token(request),
    )


def archive_view(kind: str) -> Callable[..., HttpResponse]:
    @login_required
    @require_POST
    def archive(request: HttpRequest, **kwargs: int) -> HttpResponse:
        item = _load(request, kind, kwargs)
        try:
            item_archive(item=item, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(_list_page(item))
        messages.success(
            request,
            format_html(
                "Archived {} '{}': it left the lists and pickers; its files and evidence stay. {}",
                kind,
                item,
                _undo_button(request, item),
            ),
        )
        return redirect(_list_page(item))

    archive.__name__ = f"{kind}_archive"
    return archive


def restore_view(kind: str) -> Callable[..., HttpResponse]:
    @login_required
    @require_POST
    def restore(request: HttpRequest, **kwargs: int) -> HttpResponse:
        item = _load(request, kind, kwargs)
        try:
            item_restore(item=item, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Restored {kind} '{item}'.")
        return redirect(_list_page(item))

    restore.__name__ = f"{kind}_restore"
    return restore


@login_required
def archived_list(request: HttpRequest, task_id: int) -> HttpResponse:
    """What was archived in this task, and by whom: restore it from here."""
    task = task_get_for_user(user=request.user, task_id=task_id)
    context = task_context(request, task, "data") | {"archived": archived_of_task(task=task)}
    return render(request, "registry/archived.html", context)
