"""Detection API: check content, read a detection, and C2PA Soft Binding Resolution lookups.

Anyone may ask (a newsroom, a trust team, the person shown), so every endpoint allows anonymous
clients and shares the "detection" rate limit. Bad media answers 400 with the provenance
library's stable code (core.errors maps it), never 500.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError
from core.keys import c2pa_signing_identity
from core.throttling import ScopedRateThrottle
from jobs.selectors import (
    output_record_by_id,
    output_record_by_manifest_id,
    output_record_by_payload,
)
from provenance.errors import ProvenanceError
from provenance.manifest import read_manifest
from provenance.watermark import WATERMARK_ALGORITHM

from . import registry, selectors, services
from .presenters import detection_public
from .throttling import SCOPE

PDQ_ALGORITHM = "pdq"


class _DetectionApi(APIView):
    """Reads are cheap and keep the default anonymous/user rates (a client polls them)."""

    permission_classes = [AllowAny]


class _CheckingApi(_DetectionApi):
    """Checks cost seconds of CPU: they share the "detection" rate limit with the portal form."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = SCOPE
    parser_classes = [MultiPartParser, FormParser]


class _FileInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)


class DetectionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    verdict = serializers.CharField(allow_null=True)
    verdict_text = serializers.CharField()
    record = serializers.DictField(allow_null=True)
    candidates = serializers.ListField(child=serializers.DictField())
    differences = serializers.ListField(child=serializers.CharField())
    # watermark: identified, payload, confidence, false_positive_probability, method, reading,
    # frames_used, evidence_bound, bound_text, timeline [{frame, second, agreement, percent}]
    watermark = serializers.DictField()
    c2pa = serializers.DictField()  # state, state_text, codes (the failing ones), manifest_id, ...
    # upload {image}, registry {record_id, proven, second, pdq_distance, image} or null, note
    evidence_frames = serializers.DictField(allow_null=True)
    poll_url = serializers.CharField()


class MatchSerializer(serializers.Serializer):
    manifestId = serializers.CharField()  # camelCase: the C2PA API's field names
    similarityScore = serializers.IntegerField(required=False)
    verdict = serializers.CharField(required=False)


class MatchListSerializer(serializers.Serializer):
    matches = MatchSerializer(many=True)
    detection = serializers.UUIDField(required=False)


class ManifestOutputSerializer(serializers.Serializer):
    manifestId = serializers.CharField()
    state = serializers.CharField()
    codes = serializers.ListField(child=serializers.CharField())
    actions = serializers.ListField(child=serializers.CharField())
    digitalSourceType = serializers.CharField(allow_null=True)
    softBinding = serializers.DictField(allow_null=True)
    recordId = serializers.IntegerField()
    publishedAt = serializers.DateTimeField()
    consentStatus = serializers.CharField()


def _uploaded_file(request):
    # Refuse a declared oversize body before Django spools it to disk; a body without a length
    # is still capped while it is copied (services._store_upload).
    declared = request.META.get("CONTENT_LENGTH") or "0"
    limit = settings.DETECTION_MAX_BYTES + 2**20  # room for the multipart envelope
    if declared.isdigit() and int(declared) > limit:
        raise ApplicationError(
            f"the upload exceeds the cap of {settings.DETECTION_MAX_BYTES} bytes",
            code="media_too_large",
            status_code=413,
        )
    data = _FileInput(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data["file"]


class DetectionCreateApi(_CheckingApi):
    """Check an image or clip: 200 with the verdict, or 202 + poll URL for clips over 15 s."""

    @extend_schema(request=_FileInput, responses={200: DetectionOutputSerializer})
    def post(self, request):
        result = services.detection_check_upload(upload=_uploaded_file(request), actor=request.user)
        detection = selectors.detection_get(detection_id=result.detection_id)
        body = detection_public(detection)
        if result.status == "pending":
            return Response(
                body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["poll_url"]}
            )
        return Response(body, status=status.HTTP_200_OK)


class DetectionDetailApi(_DetectionApi):
    @extend_schema(responses={200: DetectionOutputSerializer})
    def get(self, request, pk):
        detection = selectors.detection_get(detection_id=pk)
        if detection is None:
            raise ApplicationError("No such detection.", code="not_found", status_code=404)
        return Response(detection_public(detection))


def _match(record) -> dict:
    return {"manifestId": record.manifest_id}


class MatchesByBindingApi(_DetectionApi):
    """C2PA Soft Binding Resolution: manifests whose soft binding (watermark payload or a PDQ
    frame hash) matches `value`."""

    @extend_schema(
        parameters=[
            OpenApiParameter("alg", str, description=f"{WATERMARK_ALGORITHM} or {PDQ_ALGORITHM}"),
            OpenApiParameter("value", str, description="payload hex, or a PDQ hash (64 hex)"),
        ],
        responses={200: MatchListSerializer},
    )
    def get(self, request):
        alg = request.query_params.get("alg", "")
        value = request.query_params.get("value", "").strip().lower()
        if not value:
            raise ApplicationError("value: give the soft binding value to look up.", code="invalid")
        if alg == WATERMARK_ALGORITHM:
            record = output_record_by_payload(value)
            return Response({"matches": [_match(record)] if record is not None else []})
        if alg == PDQ_ALGORITHM:
            near = registry.records_near_pdq(value)  # MediaError (400) for a bad hash
            matches = []
            for record_id, distance in near:
                record = output_record_by_id(record_id)
                if record is not None:
                    score = round(100 * (1 - distance / 256))
                    matches.append({**_match(record), "similarityScore": score})
            return Response({"matches": matches})
        raise ApplicationError(
            f"alg must be {WATERMARK_ALGORITHM!r} or {PDQ_ALGORITHM!r}.",
            code="unsupported_algorithm",
        )


class MatchesByContentApi(_CheckingApi):
    """C2PA Soft Binding Resolution: manifests of platform outputs this content comes from.

    The content is checked like any detection (and audit-logged the same way)."""

    @extend_schema(request=_FileInput, responses={200: MatchListSerializer})
    def post(self, request):
        result = services.detection_check_upload(upload=_uploaded_file(request), actor=request.user)
        if result.status == "pending":
            raise ApplicationError(
                f"byContent answers at once: send at most {settings.DETECTION_SYNC_MAX_SECONDS:.0f}"
                " s of video, or use POST /api/v1/detections and poll.",
                code="too_long_for_matching",
            )
        # One proven record, or else every candidate of an unproven altered copy, ranked.
        record_ids = (
            [result.record_id]
            if result.record_id is not None
            else [c["record_id"] for c in result.summary.get("candidates", [])]
        )
        matches = []
        for record_id in record_ids:
            record = output_record_by_id(record_id)
            if record is not None:
                matches.append({**_match(record), "verdict": result.verdict})
        return Response({"matches": matches, "detection": result.detection_id})


class ManifestApi(_DetectionApi):
    """C2PA Soft Binding Resolution: the manifest of a published output, read from its file."""

    @extend_schema(responses={200: ManifestOutputSerializer})
    def get(self, request, manifest_id):
        record = output_record_by_manifest_id(manifest_id)
        if record is None:
            raise ApplicationError(
                "No platform manifest has this id.", code="not_found", status_code=404
            )
        path = Path(settings.MEDIA_ROOT) / record.file_path
        anchor = c2pa_signing_identity().root_pem
        try:
            report = read_manifest(path, anchor)
        except ProvenanceError as error:
            raise ApplicationError(
                "The published file is no longer stored.",
                code="manifest_unavailable",
                status_code=410,
            ) from error
        return Response(
            {
                "manifestId": report.manifest_id,
                "state": report.state,
                "codes": list(report.codes),
                "actions": list(report.actions),
                "digitalSourceType": report.digital_source_type,
                "softBinding": report.soft_binding,
                "recordId": record.pk,
                "publishedAt": record.published_at.isoformat(),
                "consentStatus": selectors.record_consent_status(record),
            }
        )
