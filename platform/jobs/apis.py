"""Generation API (`/api/v1/jobs...`): create (202 + URL), status, list, download.

One class per operation; each fetches, calls a service, serializes. Approved requesters only.
"""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import requester_is_approved
from consent.apis import IsOwner
from consent.models import Identity
from consent.selectors import identity_get_owned
from core.errors import ApplicationError, error_body
from generator.config import EMOTIONS
from policy.purposes import PURPOSES

from . import selectors, services
from .inputs import media_path
from .views import job_status_payload

ERROR_RESPONSE = inline_serializer(
    name="ErrorResponse",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "reasons": serializers.ListField(child=serializers.DictField(), required=False),
            },
        )
    },
)


class IsApprovedRequester(BasePermission):
    message = "Generation is open to approved requesters only."

    def has_permission(self, request, view) -> bool:
        return requester_is_approved(user=request.user)


class JobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    identity = serializers.IntegerField()
    purpose = serializers.CharField()
    status = serializers.CharField()
    stage = serializers.CharField()
    stage_label = serializers.CharField()
    progress = serializers.FloatField()
    percent = serializers.IntegerField()
    frames_done = serializers.IntegerField()
    frames_total = serializers.IntegerField()
    eta_seconds = serializers.FloatField(allow_null=True)
    failure_code = serializers.CharField(allow_blank=True)
    failure_reason = serializers.CharField(allow_blank=True)
    created_at = serializers.CharField()
    finished_at = serializers.CharField(allow_null=True)
    record_id = serializers.IntegerField(allow_null=True)
    download_url = serializers.CharField(allow_null=True)


def _job_output(request, job) -> dict:
    data = job_status_payload(job)
    record = selectors.output_for_job(job=job) if job.status == "done" else None
    may_download = record is not None and selectors.output_access(record=record).may_download
    data.update(
        url=request.build_absolute_uri(reverse("api-job-status", args=[job.pk])),
        identity=job.identity_id,
        purpose=job.purpose,
        record_id=record.pk if record else None,
        download_url=(
            request.build_absolute_uri(reverse("api-job-download", args=[job.pk]))
            if may_download
            else None
        ),
    )
    return data


class JobCreateApi(APIView):
    """Ask for a video. 202 with the job's URL; 403 with the policy's reasons when denied."""

    permission_classes = [IsApprovedRequester]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        identity = serializers.IntegerField()
        purpose = serializers.ChoiceField(choices=list(PURPOSES))
        audio = serializers.FileField()
        portrait = serializers.ImageField(required=False)
        gaze_x = serializers.FloatField(default=0.0, min_value=-1.0, max_value=1.0)
        gaze_y = serializers.FloatField(default=0.0, min_value=-1.0, max_value=1.0)
        head_distance = serializers.FloatField(default=1.0, min_value=0.8, max_value=1.25)
        emotion = serializers.ChoiceField(choices=list(EMOTIONS), default="neutral")
        intensity = serializers.FloatField(default=1.0, min_value=0.0, max_value=2.0)
        seed = serializers.IntegerField(default=0, min_value=0, max_value=2**31 - 1)

        class Meta:
            ref_name = "JobCreateInput"

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            202: JobOutputSerializer,
            400: ERROR_RESPONSE,
            403: ERROR_RESPONSE,
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        identity = Identity.objects.filter(pk=values["identity"]).first()
        if identity is None:
            raise ApplicationError("No such person.", code="identity_unknown", status_code=404)
        try:
            job = services.job_submit(
                requester=request.user,
                identity=identity,
                purpose=values["purpose"],
                audio_file=values["audio"],
                portrait_file=values.get("portrait"),
                controls={
                    "gaze": [values["gaze_x"], values["gaze_y"]],
                    "head_distance": values["head_distance"],
                    "emotion": values["emotion"],
                    "intensity": values["intensity"],
                    "seed": values["seed"],
                },
            )
        except services.PolicyDenied as denied:
            reasons = [{"code": r.code, "message": r.message} for r in denied.reasons]
            return Response(
                error_body(denied.code, denied.message, reasons=reasons),
                status=status.HTTP_403_FORBIDDEN,
            )
        output = _job_output(request, job)
        return Response(
            output, status=status.HTTP_202_ACCEPTED, headers={"Location": output["url"]}
        )


class JobListApi(APIView):
    permission_classes = [IsApprovedRequester]

    @extend_schema(responses={200: JobOutputSerializer(many=True)})
    def get(self, request):
        jobs = selectors.job_list_for_requester(requester=request.user)[:100]
        return Response([_job_output(request, job) for job in jobs])


class JobStatusApi(APIView):
    permission_classes = [IsApprovedRequester]

    @extend_schema(responses={200: JobOutputSerializer, 404: ERROR_RESPONSE})
    def get(self, request, pk: int):
        job = selectors.job_get_for_requester(requester=request.user, job_id=pk)
        if job is None:
            raise ApplicationError("Not found.", code="not_found", status_code=404)
        return Response(_job_output(request, job))


class JobDownloadApi(APIView):
    permission_classes = [IsApprovedRequester]

    @extend_schema(
        responses={
            (200, "video/mp4"): OpenApiResponse(response=OpenApiTypes.BINARY),
            403: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
        }
    )
    def get(self, request, pk: int):
        job = selectors.job_get_for_requester(requester=request.user, job_id=pk)
        record = selectors.output_for_job(job=job) if job is not None else None
        if record is None:
            raise ApplicationError("Not found.", code="not_found", status_code=404)
        if not selectors.output_access(record=record).may_download:
            raise ApplicationError(
                "The consent does not allow downloading this video (or it was withdrawn).",
                code="download_not_allowed",
                status_code=403,
            )
        response = FileResponse(
            open(media_path(record.file_path), "rb"),  # noqa: SIM115 - FileResponse closes it
            content_type="video/mp4",
            as_attachment=True,
            filename=f"talking-face-{record.pk}.mp4",
        )
        response["Cache-Control"] = "private, no-store"
        return response


class LikenessUsesApi(APIView):
    permission_classes = [IsOwner]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsentLikenessUsesOutput"

        job_id = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        requester = serializers.CharField()
        organisation = serializers.CharField()
        purpose = serializers.CharField()
        status = serializers.CharField()
        grant_id = serializers.IntegerField()
        grant_version = serializers.IntegerField()
        published_at = serializers.DateTimeField(allow_null=True)
        output_revoked_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request, pk: int):
        uses = selectors.likeness_uses_for_identity(
            identity=identity_get_owned(owner=request.user, pk=pk)
        )
        return Response(self.OutputSerializer(uses, many=True).data)
