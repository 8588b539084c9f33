"""Verifiers, auditors and admins need a TOTP code as well as their password; others do not."""

from __future__ import annotations

import re
import time

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice, offset_steps: int = 0) -> str:
    """What an authenticator app shows now (RFC 6238, from the device's key)."""
    value = totp(
        device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset_steps
    )
    return f"{value:06d}"


@pytest.mark.parametrize("persona", ["verifier", "auditor", "admin_user"])
def test_a_staff_password_session_is_sent_to_enrolment(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/2fa/setup/")


@pytest.mark.parametrize("persona", ["owner", "requester"])
def test_owners_and_requesters_are_not_asked_for_a_code(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/").status_code == 200


def test_enrolling_with_a_correct_code_opens_the_session(client, auditor):
    client.force_login(auditor)
    page = client.get("/account/2fa/setup/?next=/audit/").content.decode()
    assert "data:image/svg+xml;base64," in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    device = TOTPDevice.objects.get(user=auditor, confirmed=False)
    assert len(secret) >= 32
    response = client.post("/account/2fa/setup/", {"token": _code(device), "next": "/audit/"})
    assert response.status_code == 302 and response["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.otp_enrolled", actor_id=auditor.pk).exists()


def test_a_wrong_code_is_refused_and_audited(client, auditor):
    device = TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    client.force_login(auditor)
    wrong = f"{(int(_code(device)) + 1) % 10**6:06d}"
    response = client.post("/account/2fa/verify/", {"token": wrong})
    assert response.status_code == 200 and "not right" in response.content.decode()
    assert client.get("/audit/").status_code == 302
    assert AuditEvent.objects.filter(action="auth.otp_failed", outcome="denied").exists()


def test_repeated_wrong_codes_are_throttled_even_before_the_right_one(client, auditor):
    device = TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    client.force_login(auditor)
    for _ in range(3):
        client.post("/account/2fa/verify/", {"token": "000000"})
    response = client.post("/account/2fa/verify/", {"token": _code(device)})
    assert "not right" in response.content.decode()  # throttled: wait 4 s after 3 failures


def test_a_signed_in_auditor_with_a_device_is_asked_for_a_code_then_let_in(client, auditor):
    device = TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    client.force_login(auditor)
    response = client.get("/audit/reports/")
    assert response["Location"] == "/account/2fa/verify/?next=%2Faudit%2Freports%2F"
    response = client.post(
        "/account/2fa/verify/", {"token": _code(device), "next": "/audit/reports/"}
    )
    assert response["Location"] == "/audit/reports/"
    assert client.get("/audit/reports/").status_code == 200


def test_the_next_parameter_cannot_send_anyone_off_site(client, auditor):
    device = TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    client.force_login(auditor)
    response = client.post(
        "/account/2fa/verify/", {"token": _code(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_a_code_cannot_be_replayed(client, auditor):
    device = TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    client.force_login(auditor)
    code = _code(device)
    client.post("/account/2fa/verify/", {"token": code})
    client.logout()
    client.force_login(auditor)
    time.sleep(0.01)
    response = client.post("/account/2fa/verify/", {"token": code})
    assert "not right" in response.content.decode()


def test_the_api_refuses_a_staff_session_without_a_code(client, verifier):
    client.force_login(verifier)
    response = client.get("/api/v1/me")
    assert response.status_code == 403 and response.json()["error"]["code"] == "otp_required"


def test_a_staff_api_token_is_refused(client, auditor):
    from knox.models import AuthToken

    _, token = AuthToken.objects.create(user=auditor)
    response = client.get("/api/v1/audit/events", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 401


def test_a_requester_token_still_works(client, requester):
    from knox.models import AuthToken

    _, token = AuthToken.objects.create(user=requester)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response.json()["username"] == requester.username


def test_the_one_time_code_step_rotates_the_session_key(client, auditor):
    device = TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    client.force_login(auditor)
    before = client.session.session_key
    response = client.post("/account/2fa/verify/", {"token": _code(device)})
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.get("/audit/").status_code == 200  # the new key carries the verified session
