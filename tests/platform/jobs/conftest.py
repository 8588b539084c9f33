"""Fixtures for the jobs tests: real faces (skimage's astronaut and cameraman), espeak-ng speech,
a verified identity with an enrolled portrait, and a consent grant naming the requester."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


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
def astronaut_png() -> bytes:
    """Eileen Collins (NASA photo shipped with scikit-image): the consenting person."""
    import skimage.data

    return png_bytes(skimage.data.astronaut())


@pytest.fixture(scope="session")
def cameraman_png() -> bytes:
    """A different real person: skimage's cameraman (his face is found and described)."""
    import skimage.data

    return png_bytes(np.stack([skimage.data.camera()] * 3, axis=-1))


@pytest.fixture(scope="session")
def short_speech_wav(tmp_path_factory) -> Path:
    """About 1.5 s of speech: enough frames to exercise every stage, quick to render."""
    return espeak_wav(tmp_path_factory.mktemp("speech") / "short.wav", "Hello from the newsroom.")


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    """Each test gets an empty media store, so leftovers can be counted exactly."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def astronaut_descriptor(astronaut_png) -> list[float]:
    from generator.face_analysis import face_descriptors, load_image

    return [float(x) for x in face_descriptors(load_image(astronaut_png))[0]]


@pytest.fixture
def identity(owner, astronaut_png, astronaut_descriptor):
    """A verified identity of the owner, enrolled from the astronaut portrait."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from consent.models import Identity, IdentityStatus, ReferencePortrait

    descriptor = astronaut_descriptor
    person = Identity.objects.create(
        owner=owner,
        display_name="Olivia Owner",
        status=IdentityStatus.VERIFIED,
        verified_at=timezone.now(),
        reference_descriptor=descriptor,
    )
    portrait = ReferencePortrait(
        identity=person,
        sha256=hashlib.sha256(astronaut_png).hexdigest(),
        descriptor=descriptor,
        width=512,
        height=512,
    )
    portrait.file.save("portrait.png", ContentFile(astronaut_png), save=False)
    portrait.save()
    return person


@pytest.fixture
def grant(identity, requester):
    """An active grant naming `requester` for news explainers, neutral/happy, 30 s, download."""
    from django.utils import timezone

    from consent.models import ConsentGrant

    consent = ConsentGrant.objects.create(
        identity=identity,
        purposes=["news_explainer"],
        max_clip_seconds=30,
        allowed_emotions=["neutral", "happy"],
        allow_download=True,
        expires_at=timezone.now() + timedelta(days=30),
    )
    consent.requesters.add(requester)
    return consent


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


@pytest.fixture
def memory_broker():
    """Celery's in-memory broker for tests whose submissions commit (no folders, no server)."""
    from config.celery_app import app

    previous = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.update(broker_url="memory://", broker_transport_options={})
    yield app
    app.conf.update(broker_url=previous[0], broker_transport_options=previous[1])
