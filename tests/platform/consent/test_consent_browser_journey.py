"""The owner's journey in a real browser (Playwright driving Debian's Chromium): enrol, record
the statement (the recorder opens its server session; the fake camera shows no face, so the
automatic check says so), upload a clip of the enrolled face reading the code, a verifier
approves, the owner grants consent, downloads the signed receipt,
and withdraws consent with one click."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 180_000  # clip checks take seconds each on two shared cores
PASSWORD = "correct horse battery staple"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "accept_downloads": True}


def _sign_in_as(context, client, login, user, live_server) -> None:
    """A staff session made the way the shared `login` helper makes it (2FA satisfied)."""
    login(client, user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_owner_enrols_records_is_verified_grants_and_revokes(
    live_server,
    page,
    browser,
    settings,
    owner,
    verifier,
    requester,
    login,
    astronaut_png,
    astronaut_clip,
    tmp_path,
):
    from django.core.management import call_command
    from django.test import Client
    from playwright.sync_api import expect

    from consent.models import ConsentGrant, Identity
    from tests.platform.consent.spoken_clips import pin_code

    settings.CONSENT_ALLOW_CLIP_UPLOAD = True
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    base = live_server.url

    # The owner signs in through the form and adds an identity.
    page.goto(f"{base}/accounts/login/?next=/consent/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.fill("#id_display_name", "Olivia Owner")
    page.click("form.card button[type=submit]")
    expect(page.locator("#identity-status")).to_have_text("Not verified")

    # Enrol the reference portrait.
    portrait = tmp_path / "me.png"
    portrait.write_bytes(astronaut_png)
    page.set_input_files("#id_portrait", str(portrait))
    page.click("text=Enrol portrait")
    expect(page.locator(".messages")).to_contain_text("exactly one face found")

    # Record the statement with the (faceless) fake camera: the automatic check says so.
    page.click("text=Verify that this is you")
    page.click("#verification-start")
    code = page.locator("#code").inner_text()
    expect(page.locator("#statement")).to_contain_text(" ".join(code))
    page.click("#record-start")
    expect(page.locator("#record-status")).to_contain_text("Recording")
    page.wait_for_timeout(4_500)
    page.click("#record-stop")
    expect(page.locator("#check-failures")).to_contain_text("No face was found")
    identity = Identity.objects.get(owner=owner)
    recorded = identity.verifications.get(code=code)
    assert (recorded.clip_source, recorded.status) == ("recording", "checks_failed")
    assert recorded.checks["recording_seconds"] > 4  # the recorder's session, opened at start
    assert "clip_timing" not in recorded.checks["failure_codes"]

    # A new code, and a clip of the enrolled face uploaded (allowed by the setting here); the
    # code is pinned to the one the clip's synthetic voice reads.
    page.click("#verification-start")
    expect(page.locator("#code")).not_to_have_text(code)
    pin_code(identity.verifications.order_by("-pk").first())
    clip = tmp_path / "statement.webm"
    clip.write_bytes(astronaut_clip)
    page.set_input_files("#id_clip", str(clip))
    page.click("#upload-submit")
    expect(page.locator("#verification-pending")).to_be_visible()

    # The verifier reviews the clip beside the statement, code and score, and approves.
    reviewer_context = browser.new_context()
    reviewer = reviewer_context.new_page()
    reviewer.set_default_timeout(TIMEOUT_MS)
    _sign_in_as(reviewer_context, Client(), login, verifier, live_server)
    reviewer.goto(f"{base}/consent/verifications/")
    reviewer.click("td a[href$='/review/']")
    expect(reviewer.locator("#review-code")).not_to_have_text(code)  # the new code
    expect(reviewer.locator("#match-distance")).to_contain_text("accepted")
    reviewer.select_option("#id_decision", "approve")
    reviewer.fill("#id_reason", "Same face as the portrait; the code was read.")
    reviewer.click("#review-submit")
    expect(reviewer.locator(".messages")).to_contain_text("Decision recorded")
    reviewer_context.close()

    # The owner grants consent to the requester and gets a signed receipt.
    page.goto(f"{base}/consent/identities/{identity.pk}/")
    expect(page.locator("#identity-status")).to_have_text("Verified")
    page.click("text=Grant consent")
    page.fill("#id_requesters", requester.username)
    page.check("input[name=purposes][value=news_explainer]")
    page.check("input[name=allowed_emotions][value=neutral]")
    page.click("#grant-submit")
    expect(page.locator("#grant-state")).to_have_text("active")
    with page.expect_download() as download:
        page.click("#receipt-download")
    receipt = tmp_path / "receipt.json"
    download.value.save_as(receipt)
    assert json.loads(receipt.read_text())["consentRecord"]["state"] == "given"
    call_command("verify_receipt", str(receipt))

    # One click withdraws it.
    page.click("#revoke-now")
    expect(page.locator("#grant-state")).to_have_text("revoked")
    grant = ConsentGrant.objects.get(identity=identity)
    assert grant.revoked_at is not None
    assert grant.receipts.filter(event="revoked").exists()
