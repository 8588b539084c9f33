"""Reference portraits: check that an upload shows exactly one usable face, store it, and keep
the identity's reference descriptor (the mean of its portraits') up to date.

The face checks run dlib (generator.face_analysis); a refusal is audited with the image's hash
only, never the image.
"""

from __future__ import annotations

import hashlib

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from consent.models import Identity, ReferencePortrait
from consent.selectors import identity_reference_descriptor
from consent.services import identity_owner_check
from core.errors import ApplicationError
from core.image_shape import portrait_shape_check
from generator.config import RenderConfig
from generator.errors import GeneratorError
from generator.face_analysis import analyse_portrait, descriptor_distance, load_image


def portrait_enrol(
    *, identity: Identity, owner: User, data: bytes, filename: str
) -> ReferencePortrait:
    """Check the portrait shows exactly one usable face, then store it and update the reference.

    The face analysis runs before the transaction: it takes a second and needs no lock.
    """
    identity_owner_check(identity, owner)
    identity = Identity.objects.get(pk=identity.pk)  # the caller's copy may be stale
    if identity.biometrics_deleted:
        raise ApplicationError(
            "You deleted this identity's biometric data; create a new identity to enrol again.",
            code="biometrics_deleted",
        )
    if len(data) > settings.CONSENT_PORTRAIT_MAX_BYTES:
        raise ApplicationError(
            f"The portrait is over {settings.CONSENT_PORTRAIT_MAX_BYTES // 2**20} MB.",
            code="portrait_too_large",
        )
    try:
        image = load_image(data, max_pixels=RenderConfig().max_pixels)  # (H, W, 3)
        portrait_shape_check(image.shape[1], image.shape[0])  # before dlib sees it
        analysis = analyse_portrait(image)
        return _portrait_store(
            identity=identity,
            owner=owner,
            data=data,
            filename=filename,
            descriptor=analysis.descriptor.astype(np.float32),  # (128,)
            size=(image.shape[1], image.shape[0]),
        )
    except (GeneratorError, ApplicationError) as error:
        # Refusals are logged too (hash only, never the image), outside the rolled-back write.
        audit_record(
            action=AuditAction.IDENTITY_PORTRAIT_REFUSED,
            outcome="denied",
            actor=owner,
            subject_type="identity",
            subject_id=identity.pk,
            reason=error.code,
            details={"portrait_sha256": hashlib.sha256(data).hexdigest()},
        )
        if isinstance(error, GeneratorError):
            # The same error, in words for the person enrolling (core.errors maps it).
            raise type(error)(_face_message(error), code=error.code) from error
        raise


def _face_message(error: GeneratorError) -> str:
    messages = {
        "no_face": "We could not find a face in this photo. Use a clear, front-facing portrait.",
        "several_faces": "This photo shows more than one face. Use a portrait of you alone.",
        "face_too_small": "Your face is too small in this photo. Use a closer portrait "
        f"({error.message}).",
        "face_turned": "Your face is turned too far from the camera. Look straight at it.",
        "invalid_image": "This file is not a readable JPEG, PNG or WebP image.",
    }
    return messages.get(error.code, error.message)


@transaction.atomic
def _portrait_store(
    *,
    identity: Identity,
    owner: User,
    data: bytes,
    filename: str,
    descriptor: np.ndarray,
    size: tuple[int, int],
) -> ReferencePortrait:
    identity = Identity.objects.select_for_update().get(pk=identity.pk)
    if identity.biometrics_deleted:
        raise ApplicationError(
            "This identity's biometric data was deleted.", code="biometrics_deleted"
        )
    # Checked under the lock, against the stored reference: every portrait must be one person.
    reference = identity_reference_descriptor(identity=identity)
    threshold = settings.CONSENT_FACE_MATCH_THRESHOLD
    if reference is not None and descriptor_distance(descriptor, reference) > threshold:
        raise ApplicationError(
            "This portrait does not show the same person as your other reference portraits.",
            code="portrait_mismatch",
        )
    portrait = ReferencePortrait(
        identity=identity,
        sha256=hashlib.sha256(data).hexdigest(),
        descriptor=[float(x) for x in descriptor],
        width=size[0],
        height=size[1],
    )
    portrait.file.save(filename or "portrait.jpg", ContentFile(data), save=False)
    try:
        portrait.full_clean()
        portrait.save()
        descriptors = [
            np.asarray(p.descriptor, dtype=np.float32)
            for p in identity.portraits.filter(descriptor__isnull=False)
        ]
        identity.reference_descriptor = [float(x) for x in np.mean(descriptors, axis=0)]
        identity.save(update_fields=["reference_descriptor"])
        audit_record(
            action=AuditAction.IDENTITY_PORTRAIT_ENROLLED,
            actor=owner,
            subject_type="identity",
            subject_id=identity.pk,
            details={"portrait_id": portrait.pk, "portrait_sha256": portrait.sha256},
        )
    except Exception:
        portrait.file.delete(save=False)
        raise
    return portrait
