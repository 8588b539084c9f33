"""Browser journey (Playwright + Debian's Chromium): an approved requester asks for a video,
watches the progress bar reach done, plays the result and sees its provenance; a requester whose
consent does not cover the request is denied with the reason on the page.

The job runs on a real Celery worker (solo pool, in a thread of this process, in-memory broker)
so it shares the live server's test database.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "jobs"
TIMEOUT_MS = 240_000  # a job takes tens of seconds on a busy 2-core machine


@pytest.fixture
def chromium_browser(browser):
    """pytest-playwright's session browser: Debian's chromium (tests/conftest.py)."""
    return browser


@pytest.fixture
def celery_worker(memory_broker, live_server):
    """A real Celery worker consuming from an in-memory broker, in a thread of this process.

    The live server and the worker use their own connections to the file-backed test database
    (tests/conftest.py), so WAL and the busy timeout let them read and write side by side.
    """
    from celery.contrib.testing.worker import start_worker

    with start_worker(memory_broker, pool="solo", perform_ping_check=False, shutdown_timeout=60):
        yield


def _page_as(browser, live_server, user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context.new_page()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_an_approved_requester_gets_a_video_and_sees_its_provenance(
    live_server, chromium_browser, celery_worker, grant, requester, short_speech_wav
):
    from playwright.sync_api import expect

    page = _page_as(chromium_browser, live_server, requester)
    page.goto(f"{live_server.url}/jobs/dashboard/")
    expect(page.locator("table")).to_contain_text("Olivia Owner")
    _shot(page, "1-dashboard")
    page.click("text=New video")
    page.select_option("#id_purpose", "news_explainer")
    page.set_input_files("#id_audio", str(short_speech_wav))
    page.click("button[type=submit]")
    page.wait_for_url("**/jobs/*/")
    # The worker's first progress save moves the bar off zero (queued -> analysing/rendering).
    expect(page.locator("#job-percent")).not_to_have_text("0")
    _shot(page, "2-job-progress")
    # The page's own script polls the status endpoint and moves on to the result when done.
    page.wait_for_url("**/result/", timeout=TIMEOUT_MS)
    expect(page.locator("#c2pa-state")).to_have_text("trusted")
    expect(page.locator("#provenance")).to_contain_text("c2pa.watermarked")
    played = page.evaluate(
        """async () => {
            const video = document.getElementById('result-video');
            video.muted = true;
            await video.play();
            await new Promise(resolve => setTimeout(resolve, 800));
            return {time: video.currentTime, width: video.videoWidth, error: video.error};
        }"""
    )
    assert played["width"] == 512 and played["time"] > 0.2 and played["error"] is None
    expect(page.locator("#download")).to_be_visible()
    _shot(page, "3-result")


def test_a_requester_whose_consent_does_not_cover_the_purpose_sees_the_reason(
    live_server, chromium_browser, identity, other_requester, short_speech_wav
):
    from django.utils import timezone
    from playwright.sync_api import expect

    from consent.models import ConsentGrant

    education_only = ConsentGrant.objects.create(
        identity=identity,
        purposes=["education"],
        max_clip_seconds=30,
        allowed_emotions=["neutral"],
        expires_at=timezone.now() + timedelta(days=30),
    )
    education_only.requesters.add(other_requester)

    page = _page_as(chromium_browser, live_server, other_requester)
    page.goto(f"{live_server.url}/jobs/new/")
    page.select_option("#id_purpose", "news_explainer")
    page.set_input_files("#id_audio", str(short_speech_wav))
    page.click("button[type=submit]")
    expect(page.locator("#denial")).to_contain_text("has not consented to this use")
    _shot(page, "4-denied")
