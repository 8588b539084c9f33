"""The consent API's shared serializers: what it answers about identities, grants and
verifications, and the grant scope it reads (one class per operation lives in apis.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from generator.config import EMOTIONS
from policy.purposes import PURPOSES

from . import selectors
from .parties import MAX_NAMES, grant_parties_resolve, organisations_reach
from .scope import GrantScope


class IdentityOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    status = serializers.CharField()
    verified_at = serializers.DateTimeField(allow_null=True)
    likeness_protection = serializers.BooleanField()
    biometric_deleted_at = serializers.DateTimeField(allow_null=True)
    portraits = serializers.SerializerMethodField()

    def get_portraits(self, identity) -> int:
        return identity.portraits.filter(deleted_at__isnull=True).count()


class OrganisationReachSerializer(serializers.Serializer):
    name = serializers.CharField()
    members = serializers.ListField(child=serializers.CharField())


class GrantOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    identity_id = serializers.IntegerField()
    series = serializers.UUIDField()
    version = serializers.IntegerField()
    state = serializers.CharField()
    requester_ids = serializers.SerializerMethodField()
    organisation_ids = serializers.SerializerMethodField()
    requesters = serializers.SerializerMethodField()
    # Each organisation named, with the members (usernames) it reaches today.
    organisations = serializers.SerializerMethodField()
    purposes = serializers.ListField(child=serializers.CharField())
    max_clip_seconds = serializers.IntegerField()
    allowed_emotions = serializers.ListField(child=serializers.CharField())
    allow_download = serializers.BooleanField()
    allow_live = serializers.BooleanField()
    max_live_seconds = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    superseded_at = serializers.DateTimeField(allow_null=True)
    receipt_id = serializers.SerializerMethodField()

    def get_requester_ids(self, grant) -> list[int]:
        return sorted(grant.requesters.values_list("pk", flat=True))

    def get_organisation_ids(self, grant) -> list[int]:
        return sorted(grant.organisations.values_list("pk", flat=True))

    def get_requesters(self, grant) -> list[str]:
        return sorted(grant.requesters.values_list("username", flat=True))

    @extend_schema_field(OrganisationReachSerializer(many=True))
    def get_organisations(self, grant) -> list[dict]:
        return [
            {"name": r.organisation.name, "members": [m.username for m in r.members]}
            for r in organisations_reach(grant.organisations.order_by("name"))
        ]

    def get_receipt_id(self, grant) -> str | None:
        receipt = selectors.receipt_for_grant(grant=grant)
        return str(receipt.receipt_id) if receipt else None


class VerificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    identity_id = serializers.IntegerField()
    status = serializers.CharField()
    statement = serializers.CharField()
    code = serializers.CharField()
    code_expires_at = serializers.DateTimeField()
    checks = serializers.JSONField()
    match_distance = serializers.FloatField(allow_null=True)
    review_reason = serializers.CharField()


class FaceMatchSerializer(serializers.Serializer):
    identity_id = serializers.IntegerField()
    display_name = serializers.CharField()
    owner_username = serializers.CharField()
    distance = serializers.FloatField()


class VerificationReviewOutputSerializer(VerificationOutputSerializer):
    """What a verifier sees: the owner's view plus other verified identities with this face
    (never shown to the owner: it would tell them who else is enrolled)."""

    same_face_identities = serializers.SerializerMethodField()

    @extend_schema_field(FaceMatchSerializer(many=True))
    def get_same_face_identities(self, verification) -> list[dict]:
        matches = selectors.identity_face_matches(identity=verification.identity)
        return FaceMatchSerializer(matches, many=True).data


class GrantScopeSerializer(serializers.Serializer):
    requesters = serializers.ListField(
        child=serializers.CharField(max_length=150),
        default=list,
        max_length=MAX_NAMES,
        help_text="Exact usernames of approved requesters.",
    )
    organisations = serializers.ListField(
        child=serializers.CharField(max_length=200),
        default=list,
        max_length=MAX_NAMES,
        help_text="Exact names of organisations with approved members.",
    )
    purposes = serializers.ListField(child=serializers.ChoiceField(choices=list(PURPOSES)))
    max_clip_seconds = serializers.IntegerField(min_value=1)
    allowed_emotions = serializers.ListField(child=serializers.ChoiceField(choices=EMOTIONS))
    allow_download = serializers.BooleanField(default=False)
    allow_live = serializers.BooleanField(default=False)
    max_live_seconds = serializers.IntegerField(min_value=1, default=300)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if {"requester_ids", "organisation_ids"} & set(self.initial_data):
            raise serializers.ValidationError(
                "Name parties by `requesters` (usernames) and `organisations` (names), not ids."
            )
        return attrs

    def scope(self, *, grant=None) -> GrantScope:
        data = dict(self.validated_data)
        requesters, organisations = grant_parties_resolve(
            requester_names=data.pop("requesters"),
            organisation_names=data.pop("organisations"),
            grant=grant,
        )
        return GrantScope(requesters=requesters, organisations=organisations, **data)
