"""Page context shared by every task page (the tabs, the team switcher's current team, edit rights): one
module, so apps never import each other's views for it."""

from django.http import HttpRequest

from webapp.accounts.middleware import SESSION_KEY
from webapp.accounts.models import Role
from webapp.accounts.selectors import role_for
from webapp.demo.models import DemoRun
from webapp.demo.pipeline import STEPS
from webapp.registry.models import Task


def task_context(request: HttpRequest, task: Task, tab: str) -> dict[str, object]:
    """What every task page needs: the task, the active tab, and whether the user may change things."""
    # Opening a task of another of my teams makes that team the current one, so the nav agrees.
    if request.session.get(SESSION_KEY) != task.team_id:
        request.session[SESSION_KEY] = task.team_id
        request.team = task.team  # type: ignore[attr-defined]
    role = role_for(user=request.user, team=task.team) or 0
    return {
        "task": task,
        "tab": tab,
        "can_edit": role >= Role.MEMBER,
        "can_approve": role >= Role.APPROVER,
        # The demo task says so on every page, and how far its jobs have got.
        "demo_run": DemoRun.objects.filter(task=task).select_related("job").first(),
        "demo_steps": STEPS,
    }
