"""Account API: sign-up, API tokens, and who am I."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError
from core.throttling import ScopedRateThrottle

from . import services
from .api_tokens import api_token_issue, api_token_revoke, api_token_revoke_all
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
        token = serializers.CharField(help_text="Shown once; only its hash is stored.")
        expiry = serializers.DateTimeField(allow_null=True)

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
                "Wrong username or password.", code="invalid_credentials", status_code=401
            )
        instance, token = api_token_issue(user=user)
        return Response({"token": token, "expiry": instance.expiry}, status=status.HTTP_201_CREATED)


def _token_of(request) -> AuthToken:
    if not isinstance(request.auth, AuthToken):
        raise ApplicationError(
            "Sign out of the API with the token you want to revoke.",
            code="token_required",
            status_code=400,
        )
    return request.auth


class TokenRevokeApi(APIView):
    """Revoke the token this request is made with."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        api_token_revoke(token=_token_of(request), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRevokeAllApi(APIView):
    """Revoke every token of the caller (all scripts), from a token or a portal session."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        api_token_revoke_all(user=request.user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserOutputSerializer})
    def get(self, request):
        return Response(_user_output(request.user))
