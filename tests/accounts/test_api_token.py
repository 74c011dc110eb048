"""The API-token page: says what a token can do, makes one, and says so truthfully when it replaces one."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def test_a_first_token_is_made_without_claiming_an_old_one_stopped(web, member):
    client = web(member)
    assert "You have no token yet." in client.get(reverse("api-token")).content.decode()

    page = client.post(reverse("api-token"), follow=True).content.decode()

    token = Token.objects.get(user=member)
    assert "Token made." in page and "old one" not in page and f'data-testid="api-token">{token.key}<' in page


def test_replacing_a_token_stops_the_old_one(web, member):
    client = web(member)
    client.post(reverse("api-token"))
    old = Token.objects.get(user=member).key

    page = client.post(reverse("api-token"), follow=True).content.decode()

    assert "New token made; the old one no longer works." in page
    assert Token.objects.get(user=member).key != old
