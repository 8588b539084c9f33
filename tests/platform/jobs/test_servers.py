"""Real PostgreSQL + Redis + Celery worker processes on loopback, started and stopped by PID.

A worker is SIGKILLed while it renders; Redis redelivers the unacknowledged task to a second
worker, which takes the job over and publishes it: exactly one signed output, no orphan files.
Where nothing redelivers (the filesystem broker loses the message; a long Redis visibility
timeout), the reaper on the next worker's beat queues the job again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PG_BIN = Path("/usr/lib/postgresql/15/bin")

pytestmark = [pytest.mark.servers, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing listens on port {port} after {timeout} s")


def _stop(process: subprocess.Popen, *, group: bool = False) -> None:
    if process.poll() is not None:
        return
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
        process.wait(timeout=10)


@pytest.fixture
def redis_url():
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install -y redis-server)")
    port = _free_port()
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(server)


@pytest.fixture
def postgres_url():
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 is not installed (apt-get install -y postgresql)")
    # Not under pytest's tmp_path: its 0700 parents would keep the postgres user out.
    folder = Path(tempfile.mkdtemp(prefix="jobs-pg-"))
    folder.chmod(0o755)
    data = folder / "data"
    shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, str(PG_BIN / "initdb"), "-D", str(data),
         "--auth=trust", "-N", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    server = subprocess.Popen(
        [*as_postgres, str(PG_BIN / "postgres"), "-D", str(data),
         "-c", "listen_addresses=127.0.0.1", "-c", f"port={port}",
         "-c", f"unix_socket_directories={folder}", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port)
        subprocess.run(
            [*as_postgres, str(PG_BIN.parent / "bin" / "createdb"), "-h", "127.0.0.1",
             "-p", str(port), "-U", "postgres", "platform"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        yield f"postgres://postgres@127.0.0.1:{port}/platform"
    finally:
        # runuser forwards SIGTERM to postgres (smart shutdown); stopped by PID, never by name.
        _stop(server)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def stack_env(redis_url, postgres_url, tmp_path):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=postgres_url,
        CELERY_BROKER_URL=redis_url,
        VAR_DIR=str(tmp_path / "var"),
        # Short enough for the test: Redis hands an unacknowledged task to another worker after
        # 8 s, and a job silent for 4 s may be taken over.
        JOBS_VISIBILITY_TIMEOUT="8",
        JOBS_LEASE_SECONDS="4",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO, env=env, check=True, timeout=300,
    )  # fmt: skip
    return env


def _worker(env: dict, log: Path, *, beat: bool = False) -> subprocess.Popen:
    celery = Path(sys.executable).parent / "celery"
    with open(log, "ab") as handle:
        return subprocess.Popen(
            [str(celery), "--workdir", "platform", "-A", "config", "worker",
             "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             *(["-B"] if beat else [])],
            cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the SIGKILL takes the pool child too
        )  # fmt: skip


def _job_row(database_url: str) -> dict | None:
    import psycopg

    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT id, status, stage, frames_done, attempts FROM jobs_generationjob"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return None
    return dict(zip(("id", "status", "stage", "frames_done", "attempts"), row, strict=True))


def _sqlite_job_row(database: Path) -> dict | None:
    import sqlite3

    with contextlib.closing(sqlite3.connect(database, timeout=20)) as connection:
        row = connection.execute(
            "SELECT id, status, stage, frames_done, attempts FROM jobs_generationjob"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return None
    return dict(zip(("id", "status", "stage", "frames_done", "attempts"), row, strict=True))


def _count(database_url: str, table: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608


@pytest.fixture
def speech_6s(tmp_path) -> Path:
    path = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-w", str(path),
         "Good evening. The council met today and agreed to fund new schools and parks."],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return path


def test_a_worker_killed_mid_job_yields_exactly_one_signed_output(
    stack_env, tmp_path, astronaut_png, speech_6s
):
    from provenance.c2pa_ca import ensure_platform_ca
    from provenance.manifest import read_manifest

    portrait = tmp_path / "portrait.png"
    portrait.write_bytes(astronaut_png)
    out = tmp_path / "out.mp4"
    logs = tmp_path / "worker.log"
    first = _worker(stack_env, logs)
    second = None
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--portrait", str(portrait), "--audio",
         str(speech_6s), "--out", str(out), "--json", "--use-worker", "--timeout", "400"],
        cwd=REPO, env=stack_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        row = None
        while time.monotonic() < deadline:
            row = _job_row(stack_env["DATABASE_URL"])
            if row and row["stage"] == "rendering" and row["frames_done"] > 0:
                break
            assert demo.poll() is None, demo.communicate()
            time.sleep(0.1)
        assert row and row["stage"] == "rendering", (
            f"the job never rendered: {row}\n{logs.read_text()[-3000:]}"
        )
        os.killpg(first.pid, signal.SIGKILL)  # mid-render, no chance to clean up
        first.wait(timeout=10)
        second = _worker(stack_env, logs)
        stdout, stderr = demo.communicate(timeout=400)
        assert demo.returncode == 0, stderr[-3000:] + logs.read_text()[-3000:]
    finally:
        for process in (demo, first, second):
            if process is not None and process.poll() is None:
                _stop(process, group=process is not demo)

    summary = json.loads(stdout.strip().splitlines()[-1])
    row = _job_row(stack_env["DATABASE_URL"])
    assert (row["status"], row["attempts"]) == ("done", 2)
    assert _count(stack_env["DATABASE_URL"], "jobs_outputrecord") == 1
    outputs = Path(stack_env["VAR_DIR"]) / "media" / "outputs"
    files = sorted(p for p in outputs.rglob("*") if p.is_file())
    assert len(files) == 1, files  # the signed output only: no partial or temporary file
    root = ensure_platform_ca(Path(stack_env["VAR_DIR"]) / "keys" / "c2pa").root_pem
    assert read_manifest(files[0], root).state == "trusted"
    assert summary["record_id"] == row["id"]


def test_revoking_consent_while_a_worker_renders_publishes_nothing(
    stack_env, tmp_path, astronaut_png, speech_6s
):
    portrait = tmp_path / "portrait.png"
    portrait.write_bytes(astronaut_png)
    out = tmp_path / "out.mp4"
    logs = tmp_path / "worker.log"
    worker = _worker(stack_env, logs)
    # The owner withdraws consent through the consent service, in another process, started now
    # and told when: Django's start-up there takes seconds, longer than a short clip renders.
    revoker = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c",
         "import sys; sys.stdin.readline();"
         " from consent.models import ConsentGrant; from consent.services import consent_revoke;"
         " g = ConsentGrant.objects.get(revoked_at__isnull=True);"
         " consent_revoke(grant=g, owner=g.identity.owner); print('revoked', flush=True)"],
        cwd=REPO, env=stack_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--portrait", str(portrait), "--audio",
         str(speech_6s), "--out", str(out), "--use-worker", "--timeout", "400"],
        cwd=REPO, env=stack_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        row = None
        while time.monotonic() < deadline:
            row = _job_row(stack_env["DATABASE_URL"])
            if row and row["stage"] == "rendering":
                break
            assert demo.poll() is None, demo.communicate()
            time.sleep(0.1)
        assert row and row["stage"] == "rendering", (
            f"the job never rendered: {row}\n{logs.read_text()[-3000:]}"
        )
        revoked, revoke_errors = revoker.communicate("now\n", timeout=120)
        assert revoker.returncode == 0 and "revoked" in revoked, revoke_errors
        _, stderr = demo.communicate(timeout=300)
    finally:
        for process in (revoker, demo, worker):
            if process.poll() is None:
                _stop(process, group=process is worker)

    assert demo.returncode != 0 and "cancelled" in stderr
    row = _job_row(stack_env["DATABASE_URL"])
    assert row["status"] == "cancelled"
    assert _count(stack_env["DATABASE_URL"], "jobs_outputrecord") == 0
    outputs = Path(stack_env["VAR_DIR"]) / "media" / "outputs"
    assert not [p for p in outputs.rglob("*") if p.is_file()]
    assert not out.exists()


@pytest.fixture
def embedded_env(tmp_path, migrated_var_dir) -> dict:
    """`make run`'s embedded defaults: SQLite and Celery's filesystem broker under VAR_DIR."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    var = migrated_var_dir(tmp_path / "var")
    for folder in ("queue", "processed", "control"):
        (var / "celery" / folder).mkdir(parents=True)
    env.update(VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="config.settings")
    return env


@pytest.fixture(params=["filesystem", "redis"])
def reaper_env(request) -> dict:
    env = dict(
        request.getfixturevalue("embedded_env" if request.param == "filesystem" else "stack_env")
    )
    (Path(env["VAR_DIR"]) / "celery").mkdir(parents=True, exist_ok=True)  # beat's schedule file
    # Nothing but the reaper may bring the job back: Redis would redeliver only after an hour.
    env.update(JOBS_VISIBILITY_TIMEOUT="3600", JOBS_LEASE_SECONDS="8", JOBS_REAP_SECONDS="2")
    return env


def _row(env: dict) -> dict | None:
    if env.get("DATABASE_URL"):
        return _job_row(env["DATABASE_URL"])
    return _sqlite_job_row(Path(env["VAR_DIR"]) / "db.sqlite3")


def test_a_job_whose_worker_was_killed_is_reaped_and_finished_by_the_next_worker(
    reaper_env, tmp_path, astronaut_png, speech_6s
):
    portrait = tmp_path / "portrait.png"
    portrait.write_bytes(astronaut_png)
    logs = tmp_path / "worker.log"
    first = _worker(reaper_env, logs, beat=True)
    second = None
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--portrait", str(portrait), "--audio",
         str(speech_6s), "--out", str(tmp_path / "out.mp4"), "--json", "--use-worker",
         "--timeout", "400"],
        cwd=REPO, env=reaper_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        row = None
        while time.monotonic() < deadline:
            row = _row(reaper_env)
            if row and row["stage"] == "rendering" and row["frames_done"] > 0:
                break
            assert demo.poll() is None, demo.communicate()
            time.sleep(0.1)
        assert row and row["stage"] == "rendering", (
            f"the job never rendered: {row}\n{logs.read_text()[-3000:]}"
        )
        os.killpg(first.pid, signal.SIGKILL)  # mid-render: its message is lost or unacknowledged
        first.wait(timeout=10)
        second = _worker(reaper_env, logs, beat=True)
        _, stderr = demo.communicate(timeout=400)
        assert demo.returncode == 0, stderr[-3000:] + logs.read_text()[-3000:]
    finally:
        for process in (demo, first, second):
            if process is not None and process.poll() is None:
                _stop(process, group=process is not demo)

    row = _row(reaper_env)
    assert (row["status"], row["attempts"]) == ("done", 2)
    media = Path(reaper_env["VAR_DIR"]) / "media"
    outputs = sorted(p for p in (media / "outputs").rglob("*") if p.is_file())
    assert len(outputs) == 1 and outputs[0].suffix == ".mp4", outputs  # no partial file
    assert not [p for p in (media / "job-inputs").rglob("*") if p.is_file()]
    assert "reaped jobs: requeued" in logs.read_text()
