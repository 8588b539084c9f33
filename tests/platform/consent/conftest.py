"""Fixtures for the consent tests: real faces (skimage's astronaut, Eileen Collins, and its
cameraman, a different real man), clips made from them with PyAV, and a verified identity built
through the real services."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from tests.faces import astronaut, cameraman, png_bytes
from tests.platform.consent.spoken_clips import (
    SPOKEN_CODE,
    WRONG_CODE,
    astronaut_moving,
    code_sentence,
    speaking_clip_bytes,
)


def clip_bytes(frames: list[np.ndarray], *, seconds: float, fps: int = 10) -> bytes:
    """A VP8 WebM (what MediaRecorder sends) cycling through `frames` for `seconds`."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        height, width = frames[0].shape[:2]
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(frames[index % len(frames)], format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def two_faces_png() -> bytes:
    """Two people side by side (the astronaut twice: detection only counts faces)."""
    return png_bytes(np.concatenate([astronaut(), astronaut()], axis=1))


@pytest.fixture(scope="session")
def small_face_png() -> bytes:
    import cv2

    return png_bytes(cv2.resize(astronaut(), (256, 256), interpolation=cv2.INTER_AREA))


@pytest.fixture(scope="session")
def faceless_png() -> bytes:
    """A smooth gradient: no face, small enough that the CNN fallback is quick."""
    ramp = np.linspace(0, 255, 160, dtype=np.uint8)
    return png_bytes(np.stack([np.tile(ramp, (120, 1))] * 3, axis=-1))


@pytest.fixture(scope="session")
def astronaut_clip() -> bytes:
    """The astronaut "reading" her code aloud: her photo moving, espeak-ng's voice saying
    SPOKEN_CODE (the code `pin_code` gives a verification)."""
    return speaking_clip_bytes(astronaut_moving(astronaut()), code_sentence(SPOKEN_CODE))


@pytest.fixture(scope="session")
def wrong_code_clip() -> bytes:
    """The same, reading another code."""
    return speaking_clip_bytes(astronaut_moving(astronaut()), code_sentence(WRONG_CODE))


@pytest.fixture(scope="session")
def silent_astronaut_clip() -> bytes:
    """The moving astronaut with no sound track at all."""
    return clip_bytes(astronaut_moving(astronaut()), seconds=4.0)


@pytest.fixture(scope="session")
def still_astronaut_clip() -> bytes:
    """The photo held still (one frame repeated) while the code is read: a still image."""
    return speaking_clip_bytes([astronaut()], code_sentence(SPOKEN_CODE))


@pytest.fixture(scope="session")
def cameraman_clip() -> bytes:
    return clip_bytes([cameraman()], seconds=4.0)


@pytest.fixture(scope="session")
def faceless_clip() -> bytes:
    grey = np.full((120, 160, 3), 90, dtype=np.uint8)
    return clip_bytes([grey], seconds=4.0)


@pytest.fixture(scope="session")
def short_astronaut_clip() -> bytes:
    return clip_bytes([astronaut()], seconds=1.0)


@pytest.fixture(autouse=True)
def _quick_clip_checks(settings):
    """Five sampled frames keep each clip check to a few seconds on two shared cores."""
    settings.CONSENT_CLIP_SAMPLE_FRAMES = 5


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The personas' passwords are hashed per test; PBKDF2 costs ~1 s each on shared cores and
    proves nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def enrolled_identity(owner, astronaut_png, astronaut_descriptor):
    """The owner's identity with the astronaut portrait enrolled. Rows are written directly
    with the descriptor analysed once per session (test_portrait_enrolment runs the service)."""
    import hashlib

    from django.core.files.base import ContentFile

    from consent.models import ReferencePortrait
    from consent.services import identity_create

    identity = identity_create(owner=owner, display_name="Olivia Owner")
    portrait = ReferencePortrait(
        identity=identity,
        sha256=hashlib.sha256(astronaut_png).hexdigest(),
        descriptor=astronaut_descriptor,
        width=512,
        height=512,
    )
    portrait.file.save("portrait.png", ContentFile(astronaut_png), save=False)
    portrait.save()
    identity.reference_descriptor = astronaut_descriptor
    identity.save()
    return identity


@pytest.fixture
def verified_identity(enrolled_identity, verifier):
    """Enrolled and verified (the verification tests run the real recording and review)."""
    from django.utils import timezone

    from consent.models import IdentityStatus

    enrolled_identity.status = IdentityStatus.VERIFIED
    enrolled_identity.verified_at = timezone.now()
    enrolled_identity.save()
    return enrolled_identity


@pytest.fixture
def grant_scope(requester):
    from consent.scope import GrantScope

    return GrantScope(
        requesters=[requester],
        organisations=[],
        purposes=["news_explainer"],
        max_clip_seconds=30,
        allowed_emotions=["neutral"],
        allow_download=False,
    )


@pytest.fixture
def active_grant(verified_identity, owner, grant_scope):
    from consent.services import consent_grant

    return consent_grant(identity=verified_identity, owner=owner, scope=grant_scope)
