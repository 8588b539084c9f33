"""Browser journey (Playwright + Debian's Chromium): an auditor signs in with a password and a
TOTP code computed here from the device key, filters the log, opens an event with its inclusion
proof, exports the filtered events, and the exported file verifies offline.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 60_000


@pytest.fixture
def chromium_browser(browser):
    """pytest-playwright's session browser: Debian's chromium (tests/conftest.py)."""
    return browser


def _current_code(device) -> str:
    """What the auditor's authenticator app shows now (RFC 6238 from the device's key)."""
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.mark.django_db(transaction=True)
def test_an_auditor_signs_in_with_totp_filters_proves_and_exports(
    live_server, chromium_browser, auditor, review_log, tmp_path, capsys
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    page = chromium_browser.new_page(accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)

    page.goto(f"{live_server.url}/audit/")
    page.fill("#id_username", auditor.username)
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_url("**/account/2fa/verify/**")
    page.fill("#id_token", _current_code(device))
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/audit/")
    assert "Latest signed checkpoint" in page.content()

    page.fill("#id_action", "policy.decided")
    page.select_option("#id_outcome", "denied")
    page.click("#audit-filter button[type=submit]")
    page.wait_for_url("**/audit/?*action=policy.decided*")
    rows = page.locator("table.audit-events tbody tr")
    assert rows.count() == 2

    rows.first.locator("a").click()
    page.wait_for_url("**/audit/events/*/")
    assert page.locator("#proof-state").inner_text().startswith("Verified:")
    page.go_back()

    with page.expect_download() as download_info:
        page.click("#export-jsonl")
    exported = tmp_path / "audit-export.jsonl"
    download_info.value.save_as(exported)
    call_command("verify_audit_export", str(exported))
    assert "export OK: 2 events" in capsys.readouterr().out
