"""Consent API (`/api/v1/...`): one class per operation; fetch, call a service, serialize."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from core.errors import ApplicationError
from core.permissions import HasRole

from . import portraits, selectors, services
from . import verification as identity_verification
from .models import IdentityVerification
from .serializers import (
    GrantOutputSerializer,
    GrantScopeSerializer,
    IdentityOutputSerializer,
    VerificationOutputSerializer,
    VerificationReviewOutputSerializer,
)


class IsOwner(HasRole):
    roles = (Role.OWNER,)


class IsVerifier(HasRole):
    roles = (Role.VERIFIER, Role.ADMIN)


class IdentityListApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(responses={200: IdentityOutputSerializer(many=True)})
    def get(self, request):
        identities = selectors.identity_list_for_owner(owner=request.user)
        return Response(IdentityOutputSerializer(identities, many=True).data)


class IdentityCreateApi(APIView):
    permission_classes = [IsOwner]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsentIdentityListInput"

        display_name = serializers.CharField(max_length=150)

    @extend_schema(request=InputSerializer, responses={201: IdentityOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        identity = services.identity_create(owner=request.user, **data.validated_data)
        return Response(IdentityOutputSerializer(identity).data, status=status.HTTP_201_CREATED)


class IdentityDetailApi(APIView):
    permission_classes = [IsOwner]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsentIdentityDetailInput"

        likeness_protection = serializers.BooleanField()

    @extend_schema(responses={200: IdentityOutputSerializer})
    def get(self, request, pk: int):
        return Response(
            IdentityOutputSerializer(selectors.identity_get_owned(owner=request.user, pk=pk)).data
        )

    @extend_schema(request=InputSerializer, responses={200: IdentityOutputSerializer})
    def patch(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        identity = services.identity_likeness_protection_set(
            identity=selectors.identity_get_owned(owner=request.user, pk=pk),
            owner=request.user,
            enabled=data.validated_data["likeness_protection"],
        )
        return Response(IdentityOutputSerializer(identity).data)


class PortraitEnrolApi(APIView):
    permission_classes = [IsOwner]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsentPortraitEnrolInput"

        portrait = serializers.FileField()

    @extend_schema(request=InputSerializer, responses={201: IdentityOutputSerializer})
    def post(self, request, pk: int):
        identity = selectors.identity_get_owned(owner=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["portrait"]
        if upload.size > settings.CONSENT_PORTRAIT_MAX_BYTES:
            raise ApplicationError("The portrait is too large.", code="portrait_too_large")
        portraits.portrait_enrol(
            identity=identity, owner=request.user, data=upload.read(), filename=upload.name
        )
        identity.refresh_from_db()
        return Response(IdentityOutputSerializer(identity).data, status=status.HTTP_201_CREATED)


class VerificationStartApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(request=None, responses={201: VerificationOutputSerializer})
    def post(self, request, pk: int):
        verification = identity_verification.verification_start(
            identity=selectors.identity_get_owned(owner=request.user, pk=pk), owner=request.user
        )
        return Response(
            VerificationOutputSerializer(verification).data, status=status.HTTP_201_CREATED
        )


class VerificationRecordingStartApi(APIView):
    """The recorder page calls this as recording starts: the nonce its clip must carry."""

    permission_classes = [IsOwner]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsentVerificationRecordingOutput"

        nonce = serializers.CharField()
        started_at = serializers.DateTimeField()
        max_seconds = serializers.FloatField()

    @extend_schema(request=None, responses={201: OutputSerializer})
    def post(self, request, pk: int):
        verification = selectors.verification_get_owned(owner=request.user, pk=pk)
        verification, nonce = identity_verification.verification_recording_start(
            verification=verification, owner=request.user
        )
        body = {
            "nonce": nonce,
            "started_at": verification.recording_started_at,
            "max_seconds": settings.CONSENT_CLIP_MAX_SECONDS,
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class VerificationClipApi(APIView):
    """The recorded clip; `source` is "recording" (with the recorder session's `nonce`) unless
    uploads are switched on."""

    permission_classes = [IsOwner]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsentVerificationClipInput"

        clip = serializers.FileField()
        source = serializers.ChoiceField(choices=["recording", "upload"], default="recording")
        nonce = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)

    @extend_schema(request=InputSerializer, responses={200: VerificationOutputSerializer})
    def post(self, request, pk: int):
        verification = selectors.verification_get_owned(owner=request.user, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        clip = data.validated_data["clip"]
        if clip.size > settings.CONSENT_CLIP_MAX_BYTES:
            raise ApplicationError("The recording is too large.", code="clip_too_large")
        verification = identity_verification.verification_submit_clip(
            verification=verification,
            owner=request.user,
            data=clip.read(),
            source=data.validated_data["source"],
            nonce=data.validated_data["nonce"],
        )
        return Response(VerificationOutputSerializer(verification).data)


class VerificationPendingApi(APIView):
    permission_classes = [IsVerifier]

    @extend_schema(responses={200: VerificationReviewOutputSerializer(many=True)})
    def get(self, request):
        return Response(
            VerificationReviewOutputSerializer(selectors.verification_queue(), many=True).data
        )


class VerificationReviewApi(APIView):
    permission_classes = [IsVerifier]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsentVerificationReviewInput"

        approve = serializers.BooleanField()
        reason = serializers.CharField(max_length=2000)

    @extend_schema(responses={200: VerificationReviewOutputSerializer})
    def get(self, request, pk: int):
        verification = get_object_or_404(IdentityVerification, pk=pk)
        return Response(VerificationReviewOutputSerializer(verification).data)

    @extend_schema(request=InputSerializer, responses={200: VerificationReviewOutputSerializer})
    def post(self, request, pk: int):
        verification = get_object_or_404(IdentityVerification, pk=pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification = identity_verification.verification_review(
            verification=verification, verifier=request.user, **data.validated_data
        )
        return Response(VerificationReviewOutputSerializer(verification).data)


class GrantListApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(responses={200: GrantOutputSerializer(many=True)})
    def get(self, request, pk: int):
        grants = selectors.grant_list_for_identity(
            identity=selectors.identity_get_owned(owner=request.user, pk=pk)
        )
        return Response(GrantOutputSerializer(grants, many=True).data)


class GrantCreateApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(request=GrantScopeSerializer, responses={201: GrantOutputSerializer})
    def post(self, request, pk: int):
        identity = selectors.identity_get_owned(owner=request.user, pk=pk)
        data = GrantScopeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = services.consent_grant(
            identity=identity,
            owner=request.user,
            base_url=selectors.receipt_base_url(request=request),
            scope=data.scope(),
        )
        return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantDetailApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(responses={200: GrantOutputSerializer})
    def get(self, request, pk: int):
        return Response(
            GrantOutputSerializer(selectors.grant_get_owned(owner=request.user, pk=pk)).data
        )


class GrantChangeApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(request=GrantScopeSerializer, responses={201: GrantOutputSerializer})
    def post(self, request, pk: int):
        grant = selectors.grant_get_owned(owner=request.user, pk=pk)
        data = GrantScopeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = services.consent_change(
            grant=grant,
            owner=request.user,
            base_url=selectors.receipt_base_url(request=request),
            scope=data.scope(grant=grant),
        )
        return Response(GrantOutputSerializer(new).data, status=status.HTTP_201_CREATED)


class GrantRevokeApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(request=None, responses={200: GrantOutputSerializer})
    def post(self, request, pk: int):
        revoked = services.consent_revoke(
            grant=selectors.grant_get_owned(owner=request.user, pk=pk),
            owner=request.user,
            base_url=selectors.receipt_base_url(request=request),
        )
        return Response(GrantOutputSerializer(revoked).data)


class GrantReceiptApi(APIView):
    """The newest signed receipt of a grant version, exactly as signed."""

    permission_classes = [IsOwner]

    @extend_schema(responses={200: dict})
    def get(self, request, pk: int):
        receipt = selectors.receipt_for_grant(
            grant=selectors.grant_get_owned(owner=request.user, pk=pk)
        )
        if receipt is None:
            raise ApplicationError("This grant has no receipt.", code="no_receipt", status_code=404)
        return Response(receipt.document)


class BiometricsDeleteApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(request=None, responses={200: IdentityOutputSerializer})
    def delete(self, request, pk: int):
        identity = services.identity_biometrics_delete(
            identity=selectors.identity_get_owned(owner=request.user, pk=pk),
            owner=request.user,
            base_url=selectors.receipt_base_url(request=request),
        )
        return Response(IdentityOutputSerializer(identity).data)
