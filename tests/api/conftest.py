"""The API client fixture; the team/role fixtures are shared in tests/conftest.py."""

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

User = get_user_model()


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    """api(user) is a client authenticated with the user's API token; api(None) is anonymous."""

    def client_for(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION="Token " + token.key)
        return client

    return client_for
