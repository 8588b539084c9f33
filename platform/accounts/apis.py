"""Account API: sign-up, API tokens, and who am I."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import audit_record
from core.errors import ApplicationError
from core.throttling import ScopedRateThrottle

from . import services
from .models import SELF_SERVICE_ROLES
from .selectors import requester_is_approved


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField()
    approved_requester = serializers.BooleanField()


def _user_output(user) -> dict:
    return {
        "id": user.pk,
        "username": user.username,
        "role": user.role,
        "approved_requester": requester_is_approved(user=user),
    }


class SignUpApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "signup"

    class SignUpInputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[A-Za-z0-9_.-]{3,40}$", max_length=40)
        full_name = serializers.CharField(max_length=150)
        email = serializers.EmailField()
        password = serializers.CharField(max_length=128, write_only=True)
        role = serializers.ChoiceField(choices=[r.value for r in SELF_SERVICE_ROLES])

    @extend_schema(request=SignUpInputSerializer, responses={201: UserOutputSerializer})
    def post(self, request):
        data = self.SignUpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_sign_up(**data.validated_data)
        return Response(_user_output(user), status=status.HTTP_201_CREATED)


class TokenCreateApi(APIView):
    """Exchange a username and password for an API token (approved requesters only)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "signup"

    class TokenCreateInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, write_only=True)

    class TokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(request=TokenCreateInputSerializer, responses={201: TokenOutputSerializer})
    def post(self, request):
        data = self.TokenCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            raise ApplicationError(
                "invalid_credentials", "Wrong username or password.", status_code=401
            )
        if not requester_is_approved(user=user):
            audit_record(
                action="api.token_refused",
                outcome="denied",
                actor=user,
                subject_type="user",
                subject_id=user.pk,
                reason="not an approved requester",
            )
            raise ApplicationError(
                "not_approved", "API tokens are for approved requesters only.", status_code=403
            )
        token, _ = Token.objects.get_or_create(user=user)
        audit_record(action="api.token_issued", actor=user, subject_type="user", subject_id=user.pk)
        return Response({"token": token.key}, status=status.HTTP_201_CREATED)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserOutputSerializer})
    def get(self, request):
        return Response(_user_output(request.user))
