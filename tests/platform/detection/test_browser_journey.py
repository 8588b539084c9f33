"""Browser journey (Playwright + Debian's Chromium): a visitor checks a platform output and a
clean clip and sees both verdicts; an auditor opens the full record."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 120_000  # a check takes seconds on a busy 2-core machine


@pytest.fixture
def browser_context(browser):
    """A fresh context in pytest-playwright's session browser (Debian's chromium)."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


def _check(page, base_url: str, path) -> None:
    page.goto(f"{base_url}/detect/")
    page.set_input_files("input[type=file]", str(path))
    page.click("#detection-upload button[type=submit]")
    page.wait_for_selector("#verdict")


def test_a_visitor_sees_both_verdicts_and_an_auditor_the_full_record(
    live_server,
    browser_context,
    registered_output,
    platform_output,
    unrelated_clip,
    auditor,
    login,
):
    from playwright.sync_api import expect

    visitor = browser_context.new_page()
    _check(visitor, live_server.url, platform_output.path)
    expect(visitor.locator("#verdict")).to_have_text("Made by this platform")
    expect(visitor.locator("#record-id")).to_have_text(str(registered_output.pk))
    platform_page = visitor.url

    _check(visitor, live_server.url, unrelated_clip)
    expect(visitor.locator("#verdict")).to_have_text("No platform provenance found")
    expect(visitor.locator("#record-id")).to_have_count(0)

    from django.test import Client

    client = Client()
    login(client, auditor)
    browser_context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    auditor_page = browser_context.new_page()
    detection_id = platform_page.rstrip("/").rsplit("/", 1)[-1]
    auditor_page.goto(f"{live_server.url}/detect/audit/")
    auditor_page.click(f"a[href='/detect/audit/{detection_id}/']")
    expect(auditor_page.locator("#record-requester")).to_contain_text("riley")
    expect(auditor_page.locator("#decision-trail")).to_contain_text("job.published")
    expect(auditor_page.locator("#decision-trail")).to_contain_text(re.compile("detection.checked"))
