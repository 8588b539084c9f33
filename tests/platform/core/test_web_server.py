"""The web server as `make run` starts it: gunicorn with platform/config/gunicorn_conf.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextlib.contextmanager
def _serving(var: Path, **settings: str):
    """gunicorn as `make run` starts it, on a fresh, migrated var/; yields (port, url)."""
    port = _free_port()
    env = {**os.environ, "VAR_DIR": str(var), "HOST": "127.0.0.1", "PORT": str(port)}
    env.update({"WEB_WORKERS": "1", "DEBUG": "0", "LOG_LEVEL": "WARNING", **settings})
    env.pop("DATABASE_URL", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "platform/config/gunicorn_conf.py", "--log-level", "warning"],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # the master imports torch, dlib and every view
        while True:
            try:
                _get(f"{url}/healthz", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start with platform/config/gunicorn_conf.py")
                time.sleep(0.5)
        yield port, url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory, migrated_var_dir):
    """One server for the tests that only read from it (each start imports torch: ~5 s)."""
    with _serving(migrated_var_dir(tmp_path_factory.mktemp("web-var"))) as served:
        yield served


def test_it_serves_the_platform(web_server):
    _, url = web_server
    status, body = _get(f"{url}/healthz", timeout=5)
    assert status == 200 and b'"ok"' in body


def test_clients_that_connect_before_they_ask_do_not_hold_up_others(web_server):
    """gthread keeps a thread on each new connection until its first request (up to 5 s): with
    only 4 threads a process, four silent connections would make the next request wait 5 s."""
    port, url = web_server
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
    try:
        time.sleep(0.3)  # accepted, each now holding a thread
        started = time.monotonic()
        status, _ = _get(f"{url}/healthz", timeout=10)
        waited = time.monotonic() - started
    finally:
        for connection in silent:
            connection.close()
    assert status == 200
    assert waited < 2.5, f"a request waited {waited:.1f} s behind silent connections"


def test_a_long_url_gets_the_json_414_not_gunicorns_page(web_server):
    """gunicorn's default request-line limit (4094) answered before Django could."""
    _, url = web_server
    status, body = _get(f"{url}/api/v1/me?q=" + "a" * 6000, timeout=10)
    assert status == 414
    assert json.loads(body)["error"]["code"] == "uri_too_long"


def test_two_workers_admit_the_sign_up_rate_between_them_whatever_x_forwarded_for_says(
    tmp_path, migrated_var_dir
):
    """The probe's attack: a burst of sign-ups, each naming a new X-Forwarded-For, against two
    gunicorn workers. Each worker once kept its own counters, and took the header as the client."""
    with _serving(migrated_var_dir(tmp_path), WEB_WORKERS="2", THROTTLE_SIGNUP="20/min") as (
        _,
        url,
    ):

        def sign_up(index: int) -> int:
            request = urllib.request.Request(  # noqa: S310 - loopback
                f"{url}/api/v1/accounts",
                data=b"{}",
                headers={
                    "Content-Type": "application/json",
                    "X-Forwarded-For": f"203.0.113.{index % 250}",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        with ThreadPoolExecutor(max_workers=16) as pool:
            codes = list(pool.map(sign_up, range(60)))
    assert set(codes) <= {400, 429}, codes
    assert 18 <= codes.count(400) <= 22, f"{codes.count(400)} of 60 admitted at 20/min"
