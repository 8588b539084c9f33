"""The portrait rule with real faces: a different person's photo under a consented name is
denied. Faces: skimage's astronaut (Eileen Collins) and its cameraman, a different real man."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from policy.decisions import DecisionContext, GrantFacts, IdentityFacts, RequesterFacts, decide

pytestmark = pytest.mark.slow


def _descriptors(image: np.ndarray) -> tuple[tuple[float, ...], ...]:
    from generator.face_analysis import face_descriptors

    return tuple(tuple(float(x) for x in d) for d in face_descriptors(image))


@pytest.fixture(scope="module")
def faces():
    import cv2
    import skimage.data

    astronaut = skimage.data.astronaut()  # (512, 512, 3)
    # Another photo of the same person: cropped, shifted and darkened, as a re-upload would be.
    same_person = np.clip(astronaut[20:480, 40:500].astype(np.int16) - 25, 0, 255).astype(np.uint8)
    grey = cv2.resize(skimage.data.camera(), None, fx=1.25, fy=1.25)
    cameraman = np.stack([grey] * 3, axis=-1)
    return {
        "reference": _descriptors(astronaut)[0],
        "same_person": _descriptors(same_person),
        "other_person": _descriptors(cameraman),
    }


def _context(faces, portrait_key) -> DecisionContext:
    """Everything allowed except, possibly, the portrait."""
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    return DecisionContext(
        now=now,
        requester=RequesterFacts(requester_id=7, approved=True, active=True, organisation_id=3),
        identity=IdentityFacts(
            identity_id=11, verified=True, reference_descriptor=faces["reference"]
        ),
        grant=GrantFacts(
            grant_id=21,
            identity_id=11,
            version=1,
            requester_ids=frozenset({7}),
            organisation_ids=frozenset(),
            purposes=frozenset({"news_explainer"}),
            max_clip_seconds=30,
            allowed_emotions=frozenset({"neutral"}),
            allow_download=False,
            expires_at=now + timedelta(days=30),
        ),
        purpose="news_explainer",
        audio_seconds=10.0,
        emotion="neutral",
        wants_download=False,
        portrait_descriptors=faces[portrait_key],
        requester_jobs_last_24h=0,
        identity_jobs_last_24h=0,
    )


def test_it_allows_another_photo_of_the_consenting_person(faces):
    decision = decide(_context(faces, "same_person"))
    assert decision.allowed, decision.reasons
    assert decision.portrait_distance < 0.5


def test_it_denies_a_photo_of_a_different_real_person(faces):
    assert len(faces["other_person"]) == 1  # the cameraman's face is found...
    decision = decide(_context(faces, "other_person"))
    assert decision.reason_codes == ["portrait_mismatch"]  # ...and is not the consenting person
    assert decision.portrait_distance > 0.6
