"""platform/ never shadows the standard library's `platform` module: in pytest, in a Django
management process and in a real Celery worker."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def test_pytest_imports_the_standard_library_platform():
    import platform

    assert Path(platform.__file__).resolve().parent == STDLIB
    assert platform.python_version() == ".".join(map(str, sys.version_info[:3]))


def _env(var_dir: Path) -> dict:
    env = dict(os.environ, VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="config.settings")
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    return env


def test_a_django_process_imports_the_standard_library_platform(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import platform; print(platform.__file__); print(platform.python_version())",
            "--no-imports",
        ],
        cwd=REPO,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert Path(out[-2]).resolve().parent == STDLIB


@pytest.mark.slow
@pytest.mark.servers
def test_a_celery_worker_imports_the_standard_library_platform(tmp_path, migrated_var_dir):
    env = _env(migrated_var_dir(tmp_path))
    for folder in ("celery/queue", "celery/processed", "celery/control"):
        (tmp_path / folder).mkdir(parents=True)
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "--workdir",
            "platform",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from core.tasks import worker_probe; worker_probe.delay()",
            ],
            cwd=REPO,
            env=env,
            check=True,
            timeout=120,
        )
        deadline = time.monotonic() + 90
        row = None
        while row is None and time.monotonic() < deadline:
            time.sleep(0.5)
            with sqlite3.connect(tmp_path / "db.sqlite3") as db:
                row = db.execute(
                    "SELECT details FROM audit_auditevent WHERE action = 'system.worker_probe'"
                ).fetchone()
        assert row is not None, "the worker never ran the probe"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    import json

    details = json.loads(row[0])
    assert Path(details["platform_module"]).resolve().parent == STDLIB
    assert details["python_version"] == ".".join(map(str, sys.version_info[:3]))
