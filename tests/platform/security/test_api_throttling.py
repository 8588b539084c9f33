"""Every API endpoint is throttled; sign-up and detection more strictly than the rest."""

from __future__ import annotations

import pytest
from django.urls import resolve
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from route_walker import project_routes


def _rate_per_hour(rate: str) -> float:
    count, period = rate.split("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    return int(count) * 3600 / seconds


def _api_views():
    for route in project_routes():
        if not route.pattern.startswith("api/v1/"):
            continue
        callback = resolve(
            "/"
            + route.pattern.replace("<int:pk>", "1")
            .replace("<int:seq>", "1")
            .replace("<uuid:pk>", "00000000-0000-4000-8000-000000000000")
            .replace("<str:manifest_id>", "x")
        ).func
        view = getattr(callback, "cls", None)
        if view is not None and issubclass(view, APIView):
            yield route, view


def test_every_api_view_has_a_throttle():
    unthrottled = [r.name for r, view in _api_views() if not view().get_throttles()]
    assert not unthrottled, f"no throttle on: {unthrottled}"


def test_sign_up_and_detection_are_stricter_than_the_default(settings):
    rates = api_settings.DEFAULT_THROTTLE_RATES
    user = _rate_per_hour(rates["user"])
    assert _rate_per_hour(rates["signup"]) < user
    assert _rate_per_hour(rates["detection"]) < user
    scopes = {getattr(view, "throttle_scope", None) for _, view in _api_views()}
    assert {"signup", "detection"} <= scopes


@pytest.mark.django_db
def test_the_sign_up_api_answers_429_past_its_rate(client):
    # DRF reads the rates into a class attribute at import; swap it for the test and put the
    # very same object back (restoring from api_settings could leave the test's rates behind).
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "signup": "2/hour"}
    try:
        codes = [client.post("/api/v1/accounts", {}).status_code for _ in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert codes[:2] == [400, 400] and codes[2] == 429
