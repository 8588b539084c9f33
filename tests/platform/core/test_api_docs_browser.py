"""The API documentation pages (Swagger UI, Redoc) work in Chromium under the site's CSP: their
scripts come from this origin (drf-spectacular-sidecar), they list the API's operations, and the
browser reports no CSP violation and no console error."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 60_000


def _open(browser, url: str):
    """The page, and the problems the browser reported while loading it."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
    page.on(
        "response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None
    )
    # A CSP refusal shows as a console error and as this DOM event; record both.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    page.goto(url)
    return page, problems


def test_swagger_ui_lists_the_operations_without_csp_violations(live_server, browser):
    page, problems = _open(browser, f"{live_server.url}/api/docs/")
    page.locator(".opblock-summary-path", has_text="/api/v1/auth/token").first.wait_for()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert len(paths) > 20 and any("/api/v1/jobs" in path for path in paths)
    page.wait_for_load_state("networkidle")
    assert problems == []


# Redoc's sidebar footer always shows Redocly's logo from their CDN; the CSP refuses it (as it
# should: nothing loads from another origin) and Redoc then drops the image.
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_redoc_lists_the_operations_without_csp_violations(live_server, browser):
    page, problems = _open(browser, f"{live_server.url}/api/redoc/")
    page.get_by_text("/api/v1/auth/token", exact=False).first.wait_for(state="attached")
    assert page.locator("[data-section-id^='operation/']").count() > 20
    page.wait_for_load_state("networkidle")
    assert [problem for problem in problems if REDOCLY_LOGO not in problem] == []


def test_the_docs_pages_load_no_script_from_another_origin(client):
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url).content.decode()
        assert "https://" not in page and "<script>" not in page
