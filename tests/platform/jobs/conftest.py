"""Fixtures for the jobs tests: espeak-ng speech, a verified identity with an enrolled portrait
and a consent grant naming the requester, built through the consent services (the faces are
the session fixtures of tests/conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest


def espeak_wav(path: Path, text: str) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed; the jobs tests need it")
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


@pytest.fixture(scope="session")
def short_speech_wav(tmp_path_factory) -> Path:
    """About 1.5 s of speech: enough frames to exercise every stage, quick to render."""
    return espeak_wav(tmp_path_factory.mktemp("speech") / "short.wav", "Hello from the newsroom.")


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    """Each test gets an empty media store, so leftovers can be counted exactly."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def identity(owner, astronaut_png):
    """A verified identity of the owner, enrolled from the astronaut portrait by the services.

    Verification is the one step written directly: its service needs a recorded statement and
    a verifier's review, which the consent tests run for real.
    """
    from django.utils import timezone

    from consent.models import IdentityStatus
    from consent.portraits import portrait_enrol
    from consent.services import identity_create

    person = identity_create(owner=owner, display_name="Olivia Owner")
    portrait_enrol(identity=person, owner=owner, data=astronaut_png, filename="portrait.png")
    person.refresh_from_db()
    person.status = IdentityStatus.VERIFIED
    person.verified_at = timezone.now()
    person.save(update_fields=["status", "verified_at"])
    return person


@pytest.fixture
def grant(identity, owner, requester):
    """An active grant naming `requester` for news explainers, neutral/happy, 30 s, download."""
    from django.utils import timezone

    from consent.scope import GrantScope
    from consent.services import consent_grant

    return consent_grant(
        identity=identity,
        owner=owner,
        scope=GrantScope(
            requesters=[requester],
            organisations=[],
            purposes=["news_explainer"],
            max_clip_seconds=30,
            allowed_emotions=["neutral", "happy"],
            allow_download=True,
            expires_at=timezone.now() + timedelta(days=30),
        ),
    )


@pytest.fixture
def submit(requester, identity, short_speech_wav):
    """job_submit with the fixtures' defaults; keyword overrides per test."""
    from jobs.services import job_submit

    def _submit(**overrides):
        arguments = {
            "requester": requester,
            "identity": identity,
            "purpose": "news_explainer",
            "audio_file": short_speech_wav,
            "portrait_file": None,
            "controls": {"emotion": "neutral", "seed": 1},
        }
        arguments.update(overrides)
        return job_submit(**arguments)

    return _submit
