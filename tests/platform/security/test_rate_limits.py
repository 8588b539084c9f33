"""Rate limits hold: a forged X-Forwarded-For does not make a new client, only a trusted proxy's
does, and several processes sharing the cache admit the configured rate between them, not each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import RequestFactory
from rest_framework.throttling import SimpleRateThrottle

from core.request_context import client_ip_of

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def rates(monkeypatch):
    """`rates(scope="n/min")`: set rates for this test (monkeypatch restores DRF's class attribute
    exactly)."""

    def set_rates(**scopes: str) -> None:
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **scopes}
        )

    return set_rates


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_reset_the_sign_up_limit(client, rates):
    rates(signup="3/min")
    codes = [
        client.post("/api/v1/accounts", {}, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_reset_the_detection_limit(client, rates):
    rates(detection="3/min")
    codes = [
        client.post("/api/v1/detections", {}, HTTP_X_FORWARDED_FOR=f"2001:db8::{i}").status_code
        for i in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]


@pytest.mark.django_db
def test_the_sign_up_page_shares_the_sign_up_limit(client, rates):
    rates(signup="3/min")
    assert client.post("/api/v1/accounts", {}).status_code == 400
    codes = [
        client.post("/accounts/signup/", {}, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]  # a form with errors, another, then the limit


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(client, rates, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    rates(signup="2/min")

    def sign_up(forwarded_for: str) -> int:
        return client.post("/api/v1/accounts", {}, HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    assert [sign_up("198.51.100.1") for _ in range(3)] == [400, 400, 429]
    # What the client wrote left of the proxy's entry changes nothing; another client is apart.
    assert sign_up("192.0.2.77, 198.51.100.1") == 429
    assert sign_up("198.51.100.2") == 400


def _request(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip_of(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_only_a_trusted_peer_may_name_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "::1"]
    assert client_ip_of(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"
    assert client_ip_of(_request("10.1.2.3", "198.51.100.1")) == "198.51.100.1"
    assert client_ip_of(_request("::1", "forged, 198.51.100.1, 10.0.0.7")) == "198.51.100.1"
    assert client_ip_of(_request("10.1.2.3", "not-an-ip")) == "10.1.2.3"
    assert client_ip_of(_request("10.1.2.3")) == "10.1.2.3"


# --- several processes sharing the cache ------------------------------------------------------

# Each process warms up (the first request imports every view), says it is ready, waits for the
# others, then posts as fast as it can, all from one address (rotating X-Forwarded-For is
# covered above, and against gunicorn in tests/platform/core/test_web_server.py).
_HAMMER = """
import json, os, sys, time
sys.path.insert(0, "platform")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
from django.test import Client
client = Client()
client.get("/healthz")
ready, go = sys.argv[1], sys.argv[2]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
codes = [client.post("/api/v1/accounts", {}).status_code for _ in range(int(sys.argv[3]))]
print(json.dumps(codes))
"""


def _allowed_across_processes(env: dict, tmp_path: Path, processes: int, each: int) -> int:
    go = tmp_path / "go"
    hammers = [
        subprocess.Popen(
            [sys.executable, "-c", _HAMMER, str(tmp_path / f"ready-{n}"), str(go), str(each)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for n in range(processes)
    ]
    try:
        deadline = time.monotonic() + 180
        while not all((tmp_path / f"ready-{n}").exists() for n in range(processes)):
            assert all(h.poll() is None for h in hammers), "a process died while starting"
            assert time.monotonic() < deadline, "the processes did not start"
            time.sleep(0.1)
        go.touch()
        outputs = [h.communicate(timeout=180)[0] for h in hammers]
    finally:
        for hammer in hammers:
            if hammer.poll() is None:
                hammer.kill()
                hammer.wait()
    codes = [code for output in outputs for code in json.loads(output.strip().splitlines()[-1])]
    assert set(codes) <= {400, 429}, codes
    return codes.count(400)


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {**os.environ, "VAR_DIR": str(tmp_path / "var"), "DEBUG": "0", "LOG_LEVEL": "ERROR"}
    env.pop("CACHE_URL", None)
    env.pop("REDIS_URL", None)
    return {**env, "THROTTLE_SIGNUP": "20/min", **extra}


@pytest.mark.slow
def test_two_processes_sharing_the_database_cache_admit_the_rate_between_them(
    tmp_path, migrated_var_dir
):
    migrated_var_dir(tmp_path / "var")
    allowed = _allowed_across_processes(_env(tmp_path), tmp_path, processes=2, each=30)
    assert 18 <= allowed <= 22, f"{allowed} of 60 sign-ups admitted at 20/min"


@pytest.mark.slow
@pytest.mark.servers
def test_two_processes_sharing_redis_admit_the_rate_between_them(tmp_path, migrated_var_dir):
    migrated_var_dir(tmp_path / "var")
    import shutil
    import socket

    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install -y redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        env = _env(tmp_path, CACHE_URL=f"redis://127.0.0.1:{port}/0")
        allowed = _allowed_across_processes(env, tmp_path, processes=2, each=30)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert 18 <= allowed <= 22, f"{allowed} of 60 sign-ups admitted at 20/min"
