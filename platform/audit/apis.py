"""Audit review API for auditors and admins (read-only): events, one event with proof, reports."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from core.permissions import HasRole

from . import selectors
from .models import AuditCheckpoint, Outcome
from .reports import audit_report


class IsAuditReviewer(HasRole):
    roles = (Role.AUDITOR, Role.ADMIN)


class AuditEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor_id = serializers.IntegerField(allow_null=True)
    actor_label = serializers.CharField()
    subject_type = serializers.CharField()
    subject_id = serializers.CharField()
    action = serializers.CharField()
    outcome = serializers.CharField()
    reason = serializers.CharField()
    request_id = serializers.CharField()
    client_ip = serializers.CharField(allow_null=True)
    details = serializers.JSONField()
    leaf_hash = serializers.CharField()


class AuditCheckpointSerializer(serializers.Serializer):
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField()
    created_at = serializers.DateTimeField()
    key_id = serializers.CharField()
    signature = serializers.CharField()


class AuditEventListApi(APIView):
    """Filtered events, newest first, 50 a page; follow `next_before` for older ones."""

    permission_classes = [IsAuditReviewer]

    class AuditEventFilterSerializer(serializers.Serializer):
        actor = serializers.CharField(required=False, max_length=150)
        subject_type = serializers.CharField(required=False, max_length=64)
        subject_id = serializers.CharField(required=False, max_length=64)
        action = serializers.CharField(required=False, max_length=64)
        outcome = serializers.ChoiceField(required=False, choices=Outcome.values)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)
        client_ip = serializers.IPAddressField(required=False)
        before = serializers.IntegerField(required=False, min_value=0, max_value=2**62)

    class AuditEventPageSerializer(serializers.Serializer):
        events = AuditEventSerializer(many=True)
        next_before = serializers.IntegerField(allow_null=True)

    @extend_schema(
        operation_id="audit_events_list",
        parameters=[AuditEventFilterSerializer],
        responses={200: AuditEventPageSerializer},
    )
    def get(self, request):
        query = self.AuditEventFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        before = data.pop("before", None)
        page = selectors.audit_event_page(filters=selectors.AuditFilter(**data), before=before)
        return Response(
            {
                "events": AuditEventSerializer(page.events, many=True).data,
                "next_before": page.older_than,
            }
        )


class AuditEventDetailApi(APIView):
    """One event with its inclusion proof against the latest checkpoint covering it."""

    permission_classes = [IsAuditReviewer]

    class AuditProofSerializer(serializers.Serializer):
        tree_size = serializers.IntegerField()
        leaf_hash = serializers.CharField()
        path = serializers.ListField(child=serializers.CharField())
        root_hash = serializers.CharField()
        verified = serializers.BooleanField()

    class AuditEventWithProofSerializer(serializers.Serializer):
        event = AuditEventSerializer()
        proof = serializers.DictField(allow_null=True)
        checkpoint = AuditCheckpointSerializer(allow_null=True)

    @extend_schema(
        operation_id="audit_event_detail", responses={200: AuditEventWithProofSerializer}
    )
    def get(self, request, seq: int):
        event = selectors.audit_event_get(seq=seq)
        if event is None:
            raise NotFound("No such audit event.")
        proof = selectors.audit_event_proof(event=event)
        checkpoint = None
        if proof is not None:
            checkpoint = AuditCheckpoint.objects.get(tree_size=proof.tree_size)
        return Response(
            {
                "event": AuditEventSerializer(event).data,
                "proof": self.AuditProofSerializer(proof).data if proof else None,
                "checkpoint": AuditCheckpointSerializer(checkpoint).data if checkpoint else None,
            }
        )


class AuditIntegrityApi(APIView):
    """The integrity panel: log size, latest signed checkpoint, last whole-log verification."""

    permission_classes = [IsAuditReviewer]

    class AuditIntegritySerializer(serializers.Serializer):
        log_size = serializers.IntegerField()
        checkpoint = AuditCheckpointSerializer(allow_null=True)
        events_since_checkpoint = serializers.IntegerField()
        last_verified_at = serializers.DateTimeField(allow_null=True)
        last_verified_ok = serializers.BooleanField(allow_null=True)

    @extend_schema(responses={200: AuditIntegritySerializer})
    def get(self, request):
        status = selectors.audit_integrity_status()
        return Response(
            {
                "log_size": status.log_size,
                "checkpoint": AuditCheckpointSerializer(status.checkpoint).data
                if status.checkpoint
                else None,
                "events_since_checkpoint": status.events_since_checkpoint,
                "last_verified_at": status.last_verified_at,
                "last_verified_ok": status.last_verified_ok,
            }
        )


class AuditReportApi(APIView):
    """Denials by reason, generations per identity/requester, revocations, detections."""

    permission_classes = [IsAuditReviewer]

    class AuditReportWindowSerializer(serializers.Serializer):
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)

    @extend_schema(parameters=[AuditReportWindowSerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = self.AuditReportWindowSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(audit_report(**query.validated_data).as_dict())
