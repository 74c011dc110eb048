from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from webapp.accounts.selectors import teams_for_user

SESSION_KEY = "current_team_id"


class CurrentTeamMiddleware:
    """Puts the team the user is working in on `request.team` (a team they belong to, or None)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.team = None  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            teams = teams_for_user(user=request.user)
            wanted = request.session.get(SESSION_KEY)
            request.team = (teams.filter(pk=wanted).first() if wanted else None) or teams.first()  # type: ignore[attr-defined]
        return self.get_response(request)
