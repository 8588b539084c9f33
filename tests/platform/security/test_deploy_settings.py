"""Production settings pass `manage.py check --deploy`, and the security headers are sent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings(tmp_path):
    # The test runner's own DJANGO_ALLOW_ASYNC_UNSAFE (tests/conftest.py) is no production setting.
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "0",
        "HTTPS": "1",
        "SECRET_KEY": "x7!Kq" * 12 + "unique-production-secret-for-the-check",
        "ALLOWED_HOSTS": "faces.example.org",
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    issues = [line for line in output.splitlines() if line.startswith("?:") or ": (" in line]
    # Every deployment check (security.W*, csp, axes, otp) and the API schema must be clean.
    assert not issues, output


@pytest.mark.django_db
def test_pages_carry_csp_frame_and_sniffing_headers(client):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_session_and_csrf_cookies_are_locked_down(settings):
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"


@pytest.mark.django_db
def test_https_redirects_every_page_but_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    response = client.get("/accounts/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/me", "/accounts/login/"])
def test_an_over_long_url_is_a_414_with_the_error_body(client, settings, path):
    response = client.get(f"{path}?q=" + "a" * settings.URL_MAX_LENGTH)
    assert response.status_code == 414
    assert response.json()["error"]["code"] == "uri_too_long"
    assert client.get(f"{path}?q=" + "a" * 100).status_code != 414
