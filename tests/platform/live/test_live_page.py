"""The Live page: only people whose grant allows live use are offered, the player carries a
visible "AI-generated" label, and the page's script is served from this origin."""

from __future__ import annotations

import pytest

from .conftest import grant_for

pytestmark = pytest.mark.django_db


def test_the_page_offers_only_people_whose_grant_allows_live(client, identity, owner, requester):
    client.force_login(requester)
    grant_for(identity, owner, requester, allow_live=False)
    page = client.get("/live/").content.decode()
    assert 'id="no-live"' in page and f'value="{identity.pk}"' not in page


def test_the_player_is_labelled_ai_generated_and_offers_the_person(
    client, identity, owner, requester
):
    client.force_login(requester)
    grant_for(identity, owner, requester, allow_live=True)
    page = client.get("/live/").content.decode()
    assert f'<option value="{identity.pk}"' in page
    assert "AI-generated" in page and 'id="live-video"' in page
    assert "/static/live/live.js" in page and 'href="/live/"' in page


def test_an_owner_cannot_open_the_live_page(client, owner):
    client.force_login(owner)
    assert client.get("/live/").status_code == 403
