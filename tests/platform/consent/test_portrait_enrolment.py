"""Enrolling reference portraits: exactly one usable face, clear messages otherwise."""

from __future__ import annotations

import hashlib

import pytest

from audit.models import AuditEvent
from consent.portraits import portrait_enrol
from consent.services import identity_create
from core.errors import ApplicationError
from generator.errors import GeneratorError

pytestmark = pytest.mark.django_db


@pytest.fixture
def identity(owner):
    return identity_create(owner=owner, display_name="Olivia Owner")


def test_it_enrols_a_portrait_with_one_face(identity, owner, astronaut_png, settings):
    portrait = portrait_enrol(
        identity=identity, owner=owner, data=astronaut_png, filename="my-holiday-photo.png"
    )
    identity.refresh_from_db()
    assert portrait.sha256 == hashlib.sha256(astronaut_png).hexdigest()
    assert len(identity.reference_descriptor) == 128
    stored = settings.MEDIA_ROOT / portrait.file.name
    assert stored.read_bytes() == astronaut_png
    assert "holiday" not in portrait.file.name  # random name, not the upload's
    event = AuditEvent.objects.get(action="identity.portrait_enrolled")
    assert event.details["portrait_sha256"] == portrait.sha256


@pytest.mark.parametrize(
    ("fixture", "code", "words"),
    [
        ("faceless_png", "no_face", "could not find a face"),
        ("two_faces_png", "several_faces", "more than one face"),
        ("small_face_png", "face_too_small", "too small"),
    ],
)
def test_it_refuses_a_portrait_without_exactly_one_usable_face(
    identity, owner, request, fixture, code, words
):
    with pytest.raises(GeneratorError) as raised:
        portrait_enrol(
            identity=identity, owner=owner, data=request.getfixturevalue(fixture), filename="x.png"
        )
    assert raised.value.code == code
    assert words in raised.value.message
    assert identity.portraits.count() == 0
    refusal = AuditEvent.objects.get(action="identity.portrait_refused")
    assert (refusal.outcome, refusal.reason) == ("denied", code)


def test_it_refuses_a_file_that_is_not_an_image(identity, owner):
    with pytest.raises(GeneratorError) as raised:
        portrait_enrol(identity=identity, owner=owner, data=b"%PDF-1.4 nope", filename="x.pdf")
    assert raised.value.code == "invalid_image"


@pytest.mark.slow
def test_it_refuses_a_second_portrait_of_another_person(
    identity, owner, astronaut_png, grace_hopper_png
):
    portrait_enrol(identity=identity, owner=owner, data=astronaut_png, filename="a.png")
    with pytest.raises(ApplicationError) as raised:
        portrait_enrol(identity=identity, owner=owner, data=grace_hopper_png, filename="b.png")
    assert raised.value.code == "portrait_mismatch"
    assert identity.portraits.count() == 1


def test_only_the_owner_enrols(identity, other_owner, astronaut_png):
    with pytest.raises(ApplicationError) as raised:
        portrait_enrol(identity=identity, owner=other_owner, data=astronaut_png, filename="a.png")
    assert raised.value.status_code == 403
