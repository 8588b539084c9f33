"""Browser journey (Playwright + Debian's Chromium with its fake microphone): a requester opens
the Live page, sees the AI-generated label on the player, starts a session, watches the face
arrive through the browser's own RTCPeerConnection, stops, and the recording is published."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 120_000
# Enough stream for a recording that carries the whole watermark (see conftest's speech).
SECONDS_LIVE = 8


def test_a_requester_talks_live_in_the_browser_and_the_recording_is_published(
    browser, live_server, live_node, live_grant, identity, requester
):
    from django.test import Client

    from jobs.models import OutputRecord
    from live.models import LiveSession, LiveStatus

    client = Client()
    client.force_login(requester)
    context = browser.new_context(viewport={"width": 1000, "height": 1200})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/live/")
    assert page.locator("#live-label").is_visible()
    assert "AI-generated" in page.locator("#live-label").inner_text()

    page.click("#live-start")
    # Locator waits, not wait_for_function: the page's CSP (script-src 'self') forbids eval.
    expect(page.locator("#live-status")).to_have_text("Live.", timeout=TIMEOUT_MS)
    # Frames decoded by Chromium: the video has the face's size and its clock runs.
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        width, played = page.evaluate(
            "() => { const v = document.getElementById('live-video');"
            " return [v.videoWidth, v.currentTime]; }"
        )
        if width == 512 and played >= SECONDS_LIVE:
            break
        time.sleep(0.5)
    assert width == 512 and played >= SECONDS_LIVE, (width, played)
    page.click("#live-stop")
    expect(page.locator("#live-status")).to_contain_text("Ended", timeout=TIMEOUT_MS)
    assert "among your videos" in page.locator("#live-status").inner_text()

    session = LiveSession.objects.get()
    assert session.status == LiveStatus.ENDED
    assert OutputRecord.objects.filter(job=session.job).exists()
    context.close()
