"""API for archiving and restoring tasks, datasets, teachers and students (members, own team only): the same
service as the pages, so the same refusals (already archived, serving an active deployment) are 400s."""

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from webapp.registry.archiving import Item, item_archive, item_kind, item_restore
from webapp.registry.selectors import (
    dataset_get_for_user,
    student_get_for_user,
    task_get_for_user,
    teacher_get_for_user,
)

LOADERS = {
    "task": lambda user, pk: task_get_for_user(user=user, task_id=pk),
    "dataset": lambda user, pk: dataset_get_for_user(user=user, dataset_id=pk),
    "teacher": lambda user, pk: teacher_get_for_user(user=user, teacher_id=pk),
    "student": lambda user, pk: student_get_for_user(user=user, student_id=pk),
}

ArchiveStateSerializer = inline_serializer(
    name="ArchiveState",
    fields={
        "kind": serializers.CharField(help_text="task, dataset, teacher or student"),
        "id": serializers.IntegerField(),
        "archived_at": serializers.DateTimeField(allow_null=True, help_text="Null once restored."),
    },
)


def _state(item: Item) -> dict[str, Any]:
    return {"kind": item_kind(item), "id": item.pk, "archived_at": item.archived_at}


class ArchiveApi(generics.GenericAPIView):
    """POST archives (restore=False) or restores the object; another team's object is a 404."""

    kind = "dataset"
    restore = False
    serializer_class = ArchiveStateSerializer

    def post(self, request: Request, **kwargs: int) -> Response:
        item = LOADERS[self.kind](request.user, kwargs[f"{self.kind}_id"])
        changed = (item_restore if self.restore else item_archive)(item=item, user=request.user)
        return Response(_state(changed))


def archive_endpoint(kind: str, *, restore: bool) -> Any:
    verb = "Restore" if restore else "Archive"

    # A function of its own per endpoint: extend_schema annotates the function it decorates.
    def post(self: ArchiveApi, request: Request, **kwargs: int) -> Response:
        return ArchiveApi.post(self, request, **kwargs)

    decorated = extend_schema(
        summary=f"{verb} a {kind}",
        description="Archived objects leave the lists (see ?archived=true), pickers and job starts; nothing is "
        "deleted, evidence stays, and a restore brings them back.",
        request=None,
        responses=ArchiveStateSerializer,
        operation_id=f"{kind}_{verb.lower()}",
    )(post)
    view = type(f"{kind.capitalize()}{verb}Api", (ArchiveApi,), {"kind": kind, "restore": restore, "post": decorated})
    return view.as_view()
