"""Fixtures for the live tests: the jobs tests' consenting person, a grant for personal use,
an API token, a real live node on loopback and a speech file to send as the microphone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.platform.jobs.conftest import (  # noqa: F401 - fixtures re-exported
    espeak_wav,
    identity,
)

SPEECH = (
    "Good morning. This is a live call with a consenting person. "
    "Every frame you see carries an invisible watermark."
)


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def live_speech_wav(tmp_path_factory):
    """About 6 s of speech: long enough for a recording that carries the whole watermark."""
    return espeak_wav(tmp_path_factory.mktemp("live") / "speech.wav", SPEECH)


@pytest.fixture
def live_grant(identity, owner, requester):  # noqa: F811 - the re-exported fixture
    """An active grant naming `requester` for personal use, live allowed up to 60 s."""
    return grant_for(identity, owner, requester, allow_live=True)


def grant_for(identity, owner, requester, *, allow_live: bool, seconds: int = 60):  # noqa: F811
    """A grant naming `requester` for personal use; clips and live sessions up to `seconds`."""
    from django.utils import timezone

    from consent.scope import GrantScope
    from consent.services import consent_grant

    return consent_grant(
        identity=identity,
        owner=owner,
        scope=GrantScope(
            requesters=[requester],
            organisations=[],
            purposes=["personal"],
            max_clip_seconds=seconds,
            allowed_emotions=["neutral"],
            allow_download=False,
            allow_live=allow_live,
            max_live_seconds=seconds,
            expires_at=timezone.now() + timedelta(days=30),
        ),
    )


@pytest.fixture
def api_token(requester):
    from knox.models import AuthToken

    _, token = AuthToken.objects.create(user=requester)
    return token


@pytest.fixture
def live_node(transactional_db):
    """A real node (aiortc, its own loop and HTTP thread) on loopback, capacity 1."""
    from live.node import LiveNode

    node = LiveNode(name="test-node", capacity=1).start()
    yield node
    node.stop()
