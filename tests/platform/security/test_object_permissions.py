"""Table-driven object-level permission walk over every portal route and API endpoint.

The routes come from the URL resolver and the objects from every project model (see
route_walker), so routes and models that other apps add are walked without editing this file.
For each route with an object parameter, filled with the victims' object ids:
- a visitor (signed out) never gets the object (no 2xx; a redirect only to sign in);
- another owner and another requester, who own nothing, never get a 2xx either, and a redirect
  only to sign-in or 2FA pages, for GET and POST alike;
- and no victim row changes whatever they POST.
Role-only areas (the audit log, application review) are checked for every role.
"""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse
from route_walker import build_world, project_routes

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# Routes a stranger may open by design, with why. Keep this short and argued.
CAPABILITY_ROUTES: dict[str, str] = {
    # Anyone may check a file; the result page is addressed by an unguessable UUID4 (122 random
    # bits) and shows only detection_public(): the verdict and the provenance evidence found
    # in the uploaded file itself, no uploader, requester or identity details.
    "detection:verdict": "public check result behind a UUID4 capability link",
    "api-detection-detail": "public check result behind a UUID4 capability link",
}

# Areas only some roles may enter at all (prefix of the route name -> roles allowed).
ROLE_AREAS = {
    "audit:": ("auditor", "admin"),
    "api-audit-": ("auditor", "admin"),
    "accounts:application_review": ("verifier", "admin"),
    "accounts:application_queue": ("verifier", "admin"),
}

_SAFE_REDIRECT_MARKERS = ("/accounts/login/", "/account/2fa/", "/admin/login/")


def _urls(route, world) -> list[str]:
    choices = {name: world.values_for(route.app, conv) for name, conv in route.converters.items()}
    if any(not values for values in choices.values()):
        return []
    urls = []
    width = max(len(values) for values in choices.values())
    for i in range(width):
        kwargs = {name: values[i % len(values)] for name, values in choices.items()}
        try:
            urls.append(reverse(route.name, kwargs=kwargs))
        except NoReverseMatch:
            continue
    return urls


def _leak(response) -> str | None:
    """Why this answer gives the object away, or None when it is a refusal."""
    code = response.status_code
    if 200 <= code < 300:
        return f"answered {code}"
    if 300 <= code < 400:
        location = response.get("Location", "")
        if not any(marker in location for marker in _SAFE_REDIRECT_MARKERS):
            return f"redirected to {location}"
    if code >= 500:
        return f"server error {code}"
    return None


@pytest.fixture
def world(owner, requester, verifier, auditor):
    return build_world({"owner": owner, "requester": requester, "verifier": verifier})


def test_the_walker_finds_object_routes_of_every_app(world):
    routes = [r for r in project_routes() if r.has_object]
    assert {"accounts", "audit"} <= {r.app for r in routes}
    walked = [r for r in routes if _urls(r, world)]
    assert len(walked) >= len(routes) * 0.8, (
        "these object routes got no ids to try: "
        + ", ".join(r.name for r in routes if not _urls(r, world))
        + f"; models not seeded: {world.skipped}"
    )


@pytest.mark.parametrize("attacker", [None, "other_owner", "other_requester"])
def test_no_one_reaches_another_users_objects(client, login, request, world, attacker):
    if attacker is not None:
        login(client, request.getfixturevalue(attacker))
    before = world.snapshot()
    leaks = []
    for route in project_routes():
        if not route.has_object or route.name in CAPABILITY_ROUTES:
            continue
        for url in _urls(route, world):
            for method in ("get", "post"):
                reason = _leak(getattr(client, method)(url))
                if reason:
                    leaks.append(f"{method.upper()} {url} ({route.name}) {reason}")
    assert not leaks, f"{attacker or 'a visitor'} reached others' objects:\n" + "\n".join(leaks)
    assert world.snapshot() == before, "a refused request still changed a victim's row"


@pytest.mark.parametrize("persona", ["owner", "requester", "verifier", "auditor", "admin_user"])
def test_role_only_areas_refuse_every_other_role(client, login, request, world, persona):
    user = login(client, request.getfixturevalue(persona))
    wrong = []
    for route in project_routes():
        allowed = next((r for p, r in ROLE_AREAS.items() if route.name.startswith(p)), None)
        if allowed is None:
            continue
        urls = _urls(route, world) if route.has_object else [reverse(route.name)]
        for url in urls:
            code = client.get(url).status_code
            if user.role in allowed and code in (401, 403):
                wrong.append(f"{url}: {user.role} refused ({code})")
            if user.role not in allowed and code not in (403, 404, 405):
                wrong.append(f"{url}: {user.role} got {code}")
    assert not wrong, "\n".join(wrong)


def test_the_admin_site_is_closed_to_non_staff(client, login, owner):
    login(client, owner)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
