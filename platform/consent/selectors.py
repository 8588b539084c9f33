"""Reads about identities, consent grants and receipts (the jobs and detection apps use these)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from policy.decisions import GrantFacts, IdentityFacts

from .models import (
    ConsentGrant,
    ConsentReceipt,
    Identity,
    IdentityStatus,
    IdentityVerification,
    ReferencePortrait,
    VerificationStatus,
)


def _active_grants() -> QuerySet[ConsentGrant]:
    return ConsentGrant.objects.filter(
        revoked_at__isnull=True, superseded_at__isnull=True, expires_at__gt=timezone.now()
    )


def _names_requester(requester) -> Q:
    named = Q(requesters=requester)
    if getattr(requester, "organisation_id", None):
        named |= Q(organisations=requester.organisation_id)
    return named


def grant_active_for(*, identity: Identity, requester, purpose: str) -> ConsentGrant | None:
    """The active grant of `identity` naming `requester` (or their organisation) for `purpose`.

    Only verified identities have usable grants. Purposes are a JSON list, filtered here rather
    than in SQL so SQLite and PostgreSQL behave the same.
    """
    if identity.status != IdentityStatus.VERIFIED:
        return None
    grants = (
        _active_grants()
        .filter(identity=identity)
        .filter(_names_requester(requester))
        .distinct()
        .order_by("-created_at")
    )
    for grant in grants:
        if purpose in grant.purposes:
            return grant
    return None


def identities_for_requester(*, requester) -> list[tuple[Identity, ConsentGrant]]:
    """Every verified identity with an active grant naming `requester`, newest grant first."""
    grants = (
        _active_grants()
        .filter(identity__status=IdentityStatus.VERIFIED)
        .filter(_names_requester(requester))
        .select_related("identity")
        .distinct()
        .order_by("identity__display_name", "-created_at")
    )
    return [(grant.identity, grant) for grant in grants]


def identity_reference_portrait(*, identity: Identity) -> ReferencePortrait | None:
    """The identity's newest portrait that is not deleted: the one generation animates."""
    return identity.portraits.filter(deleted_at__isnull=True).order_by("-created_at").first()


def identity_reference_descriptor(*, identity: Identity) -> np.ndarray | None:
    """The enrolled (128,) float32 reference descriptor, or None (none enrolled or deleted)."""
    if identity.reference_descriptor is None:
        return None
    descriptor = np.asarray(identity.reference_descriptor, dtype=np.float32)
    return descriptor if descriptor.shape == (128,) else None


def protected_identities() -> list[tuple[Identity, np.ndarray]]:
    """Verified identities with likeness protection on and a reference descriptor, for the
    detector's "this looks like a protected person" check."""
    rows = []
    for identity in Identity.objects.filter(
        status=IdentityStatus.VERIFIED,
        likeness_protection=True,
        reference_descriptor__isnull=False,
    ):
        descriptor = identity_reference_descriptor(identity=identity)
        if descriptor is not None:
            rows.append((identity, descriptor))
    return rows


# dlib's own "same person" distance (99.4% on LFW): this feeds a warning a verifier reads, so
# it errs towards showing a match rather than the stricter enrolment threshold.
SAME_FACE_MAX_DISTANCE = 0.6


@dataclass(frozen=True)
class FaceMatch:
    """Another verified identity whose reference face looks like the same person."""

    identity_id: int
    display_name: str
    owner_username: str
    distance: float  # between the two reference descriptors; lower is closer


def identity_face_matches(*, identity: Identity) -> list[FaceMatch]:
    """Other verified identities (any owner's) with the same face as `identity`, closest first:
    a face verified once already is someone else's identity unless a verifier finds otherwise."""
    reference = identity_reference_descriptor(identity=identity)
    if reference is None:
        return []
    matches = []
    others = Identity.objects.filter(
        status=IdentityStatus.VERIFIED, reference_descriptor__isnull=False
    ).exclude(pk=identity.pk)
    for other in others.select_related("owner"):
        descriptor = identity_reference_descriptor(identity=other)
        if descriptor is None:
            continue
        distance = float(np.linalg.norm(descriptor - reference))
        if distance <= SAME_FACE_MAX_DISTANCE:
            matches.append(
                FaceMatch(other.pk, other.display_name, other.owner.get_username(), distance)
            )
    return sorted(matches, key=lambda match: match.distance)


def receipt_for_grant(*, grant: ConsentGrant) -> ConsentReceipt | None:
    """The newest receipt for this grant version (the revocation receipt once revoked)."""
    return grant.receipts.order_by("-created_at", "-pk").first()


def identity_policy_facts(*, identity: Identity) -> IdentityFacts:
    """What the policy needs to know about an identity."""
    descriptor = identity_reference_descriptor(identity=identity)
    return IdentityFacts(
        identity_id=identity.pk,
        verified=identity.status == IdentityStatus.VERIFIED,
        reference_descriptor=None if descriptor is None else tuple(float(x) for x in descriptor),
    )


def grant_policy_facts(*, grant: ConsentGrant) -> GrantFacts:
    """What the policy needs to know about a grant version."""
    return GrantFacts(
        grant_id=grant.pk,
        identity_id=grant.identity_id,
        version=grant.version,
        requester_ids=frozenset(grant.requesters.values_list("pk", flat=True)),
        organisation_ids=frozenset(grant.organisations.values_list("pk", flat=True)),
        purposes=frozenset(grant.purposes),
        max_clip_seconds=float(grant.max_clip_seconds),
        allowed_emotions=frozenset(grant.allowed_emotions),
        allow_download=grant.allow_download,
        expires_at=grant.expires_at,
        revoked_at=grant.revoked_at,
        superseded_at=grant.superseded_at,
    )


# --- what the portal and the API show an owner -------------------------------------------------
# 404, not 403, for someone else's identity, grant or recording: its existence is not theirs to
# learn.


def identity_get_owned(*, owner, pk: int) -> Identity:
    return get_object_or_404(Identity, pk=pk, owner=owner)


def grant_get_owned(*, owner, pk: int) -> ConsentGrant:
    return get_object_or_404(
        ConsentGrant.objects.select_related("identity"), pk=pk, identity__owner=owner
    )


def verification_get_owned(*, owner, pk: int) -> IdentityVerification:
    return get_object_or_404(
        IdentityVerification.objects.select_related("identity"), pk=pk, identity__owner=owner
    )


def receipt_base_url(*, request) -> str:
    """The site address as this request reached it: receipts link back to it."""
    return request.build_absolute_uri("/").rstrip("/")


def identity_list_for_owner(*, owner) -> QuerySet[Identity]:
    return Identity.objects.filter(owner=owner).order_by("-created_at")


def grant_series_current(*, grant: ConsentGrant) -> ConsentGrant:
    """The newest version in `grant`'s series (itself if it is the newest)."""
    return ConsentGrant.objects.filter(series=grant.series).order_by("-version").first() or grant


def grant_list_for_identity(*, identity: Identity) -> QuerySet[ConsentGrant]:
    return identity.grants.prefetch_related("requesters", "organisations").order_by(
        "-created_at", "-version"
    )


def verification_queue() -> QuerySet[IdentityVerification]:
    return IdentityVerification.objects.filter(
        status=VerificationStatus.PENDING_REVIEW
    ).select_related("identity", "identity__owner")


def verification_recently_reviewed(limit: int = 50) -> QuerySet[IdentityVerification]:
    return (
        IdentityVerification.objects.filter(
            status__in=[VerificationStatus.APPROVED, VerificationStatus.REJECTED]
        )
        .select_related("identity", "reviewed_by")
        .order_by("-reviewed_at")[:limit]
    )


def verification_latest(*, identity: Identity) -> IdentityVerification | None:
    return identity.verifications.order_by("-created_at", "-pk").first()
