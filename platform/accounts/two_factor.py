"""Two-factor authentication (TOTP, django-otp) for the roles that can see or change other
people's data: verifiers, auditors and admins.

A password alone opens a staff session only as far as the 2FA pages: StaffTwoFactorMiddleware
sends every other request to enrolment (no confirmed device yet) or to the code prompt, and
answers API calls with 403 `otp_required`, so new apps' views are covered without a decorator.
"""

from __future__ import annotations

import base64
import io
from base64 import b32encode
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from audit.actions import AuditAction
from audit.services import audit_record
from core.errors import error_body

from .models import STAFF_ROLES

# Paths a password-only staff session may reach: the 2FA pages themselves and signing out.
_EXEMPT_PREFIXES = ("/account/2fa/", "/accounts/logout/", "/static/", "/healthz")


def requires_two_factor(user) -> bool:
    """Staff roles, and anyone Django itself treats as staff, must use a second factor."""
    return bool(
        user.is_authenticated and (user.role in STAFF_ROLES or user.is_staff or user.is_superuser)
    )


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@transaction.atomic
def totp_device_pending(*, user) -> TOTPDevice:
    """The unconfirmed device being enrolled (made on first visit; its key is shown once)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=False)
    return device


def totp_qr_data_uri(device: TOTPDevice) -> str:
    """The enrolment QR code as an SVG data: URI (CSP allows data: images, not inline scripts)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def totp_secret_b32(device: TOTPDevice) -> str:
    return b32encode(device.bin_key).decode()


def totp_enrol_confirm(*, request, device: TOTPDevice, token: str) -> bool:
    """Confirm enrolment with a first code; the session is then OTP-verified."""
    if not device.verify_token(token):
        audit_record(
            action=AuditAction.AUTH_OTP_FAILED,
            outcome="denied",
            actor=request.user,
            subject_type="user",
            subject_id=request.user.pk,
            reason="wrong code during enrolment",
        )
        return False
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
        audit_record(
            action=AuditAction.AUTH_OTP_ENROLLED,
            actor=request.user,
            subject_type="user",
            subject_id=request.user.pk,
        )
    _session_elevate(request, device)
    return True


def _session_elevate(request, device) -> None:
    """Mark the session verified under a new session key and CSRF token, as Django's login()
    does for the password step: a session id or token fixed before the second factor (planted,
    or read over the shoulder) must not carry over to the stronger session."""
    otp_login(request, device)
    request.session.cycle_key()
    rotate_token(request)


def totp_verify(*, request, token: str) -> bool:
    """Check a code against the user's confirmed device (django-otp throttles repeated failures
    exponentially) and mark the session verified."""
    device = confirmed_device(request.user)
    if device is None or not device.verify_token(token):
        audit_record(
            action=AuditAction.AUTH_OTP_FAILED,
            outcome="denied",
            actor=request.user,
            subject_type="user",
            subject_id=request.user.pk,
            reason="wrong or throttled one-time code",
        )
        return False
    _session_elevate(request, device)
    audit_record(
        action=AuditAction.AUTH_OTP_VERIFIED,
        actor=request.user,
        subject_type="user",
        subject_id=request.user.pk,
    )
    return True


def safe_next(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


class StaffTwoFactorMiddleware:
    """After django-otp's OTPMiddleware: staff sessions without a verified OTP go no further."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and requires_two_factor(user)
            and not user.is_verified()
            and not request.path.startswith(_EXEMPT_PREFIXES)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    error_body("otp_required", "Verify your one-time code first."), status=403
                )
            target = "site:otp_verify" if confirmed_device(user) else "site:otp_setup"
            next_path = request.get_full_path() if request.method == "GET" else ""
            url = reverse(target)
            if next_path and next_path != "/":
                url += "?" + urlencode({"next": next_path})
            return redirect(url)
        return self.get_response(request)


def issuer() -> str:
    return getattr(settings, "OTP_TOTP_ISSUER", "Consented Talking Faces")


class NonStaffTokenAuthentication(TokenAuthentication):
    """API tokens for everyone but staff: a bearer token cannot carry a second factor, so
    verifiers, auditors and admins use the API only through their OTP-verified session.

    Knox keeps only each token's hash and expiry: an expired or revoked token is refused."""

    def authenticate_credentials(self, token):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError as error:
            # Knox decodes the header itself; a Latin-1 byte would otherwise be a 500.
            raise AuthenticationFailed("Invalid token.") from error
        user, auth_token = super().authenticate_credentials(token)
        if requires_two_factor(user):
            raise AuthenticationFailed("Staff accounts use the API through a 2FA-verified session.")
        return user, auth_token


class NonStaffTokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of the token above (`Authorization: Token <token>`)."""

    target_class = NonStaffTokenAuthentication
    name = "tokenAuth"
