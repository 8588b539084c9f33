"""Live API (`/api/v1/live/sessions...`): create a session with an SDP offer and get the
node's answer (WHIP-style, plain HTTP), stop it, read it and its recording.

One class per operation; each fetches, calls a service, serializes. Approved requesters only,
and a session is visible to the requester who started it and nobody else.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.models import Identity
from core.errors import ApplicationError
from generator.config import EMOTIONS
from jobs.apis import IsApprovedRequester
from policy.purposes import PURPOSES

from . import selectors, services, signalling


def live_session_payload(request, session) -> dict:
    record = getattr(session.job, "output", None) if session.status == "ended" else None
    return {
        "id": str(session.public_id),
        "url": request.build_absolute_uri(reverse("api-live-session", args=[session.public_id])),
        "status": session.status,
        "identity": session.job.identity_id,
        "purpose": session.job.purpose,
        "max_duration_s": session.max_duration_s,
        "frames_sent": session.frames_sent,
        "end_reason": session.end_reason,
        "timings": session.timings,
        "created_at": session.created_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "record_id": record.pk if record else None,
        "job_url": request.build_absolute_uri(reverse("api-job-status", args=[session.job_id])),
    }


def _session_or_404(request, public_id):
    session = selectors.live_session_for(public_id=public_id, user=request.user)
    if session is None:
        raise ApplicationError(
            "No such live session.", code="live_session_unknown", status_code=404
        )
    return session


class LiveSessionCreateApi(APIView):
    """Start a session: the policy decides, a node answers the SDP offer (201), or 503 when no
    node has room, 403 with the policy's reasons when denied."""

    permission_classes = [IsApprovedRequester]

    class InputSerializer(serializers.Serializer):
        identity = serializers.IntegerField()
        purpose = serializers.ChoiceField(choices=list(PURPOSES), default="personal")
        sdp = serializers.CharField(max_length=32_768)
        type = serializers.ChoiceField(choices=["offer"], default="offer")
        max_duration_s = serializers.IntegerField(required=False, min_value=1)
        emotion = serializers.ChoiceField(choices=list(EMOTIONS), default="neutral")
        intensity = serializers.FloatField(default=1.0, min_value=0.0, max_value=2.0)
        seed = serializers.IntegerField(default=0, min_value=0, max_value=2**31 - 1)

        class Meta:
            ref_name = "LiveSessionCreateInput"

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        identity = Identity.objects.filter(pk=values["identity"]).first()
        if identity is None:
            raise ApplicationError("No such person.", code="identity_unknown", status_code=404)
        session = services.live_session_create(
            requester=request.user,
            identity=identity,
            purpose=values["purpose"],
            controls={
                "emotion": values["emotion"],
                "intensity": values["intensity"],
                "seed": values["seed"],
            },
            max_duration_s=values.get("max_duration_s"),
        )
        answer = signalling.live_offer_forward(session=session, sdp=values["sdp"], kind="offer")
        session.refresh_from_db()
        body = live_session_payload(request, session)
        body["answer"] = {"sdp": answer["sdp"], "type": answer["type"]}
        body["setup_ms"] = answer.get("setup_ms")
        return Response(body, status=status.HTTP_201_CREATED)


class LiveSessionDetailApi(APIView):
    """Read one session (status, timings, and its record once published)."""

    permission_classes = [IsApprovedRequester]

    @extend_schema(responses={200: dict})
    def get(self, request, public_id):
        return Response(live_session_payload(request, _session_or_404(request, public_id)))


class LiveSessionStopApi(APIView):
    """Stop a session; answers once its recording is published (or why it was not)."""

    permission_classes = [IsApprovedRequester]

    @extend_schema(request=None, responses={200: dict})
    def post(self, request, public_id):
        session = _session_or_404(request, public_id)
        signalling.live_stop_forward(session=session)
        session.refresh_from_db()
        return Response(live_session_payload(request, session))
