from typing import Any

from django.http import HttpRequest

from webapp.accounts.selectors import role_for, teams_for_user


def teams(request: HttpRequest) -> dict[str, Any]:
    team = getattr(request, "team", None)
    if not request.user.is_authenticated:
        return {}
    return {
        "current_team": team,
        "my_teams": teams_for_user(user=request.user),
        "current_role": role_for(user=request.user, team=team) if team else None,
    }
