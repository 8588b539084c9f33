"""Shared fixtures: named personas (healthchecks style) and an isolated key store."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Playwright's sync API (pytest-playwright's session fixtures) keeps an event loop in the main
# thread from the first browser test on, and Django then refuses ORM calls from that thread. Our
# code has no async views, so the tests may make their plain synchronous calls there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO = Path(__file__).resolve().parents[1]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests run on a file, not pytest-django's in-memory database.

    Tests with a live server, a worker thread or a second connection otherwise share one
    in-memory database in shared-cache mode, where a writer that meets a reader's table lock
    fails at once ("database table is locked", no busy timeout): the browser journey failed that
    way on a busy machine. On a file the settings' WAL journal and busy timeout apply, as in
    production.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        test_settings = database.setdefault("TEST", {})
        test_settings["NAME"] = str(tmp_path_factory.getbasetemp() / "test-db.sqlite3")


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory) -> Path:
    """db.sqlite3 as `manage.py migrate` leaves it on a fresh VAR_DIR, made once a session."""
    var = tmp_path_factory.mktemp("migrated-var")
    env = {**os.environ, "VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO, env=env, check=True, timeout=300,
    )  # fmt: skip
    return var / "db.sqlite3"


@pytest.fixture(scope="session")
def migrated_var_dir(_migrated_sqlite):
    """Gives a VAR_DIR the embedded SQLite database, migrated: the file `migrate` makes, copied,
    so each server test spends milliseconds on it instead of a 6-s `migrate` of its own."""

    def fill(var: Path) -> Path:
        var.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_sqlite, var / "db.sqlite3")
        return var

    return fill


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright launches Debian's chromium (never a downloaded browser)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed (make test installs it)")
    return {"executable_path": chromium, "args": CHROMIUM_FLAGS}


MEMORY_BROKER = {
    "broker_url": "memory://",
    "broker_transport": None,
    "broker_transport_options": {},
}


@pytest.fixture(scope="session", autouse=True)
def _celery_uses_the_memory_broker():
    """Tasks enqueued in the test process go to Celery's in-memory broker from the first one on.

    Celery caches its connection pool at the first enqueue, so a later switch of broker_url would
    not take; and the embedded filesystem broker would need var/ folders a clean checkout lacks.
    Tests that run real workers start them as processes with their own broker (Redis, folders).
    The transport goes too: the settings name the embedded broker's class for filesystem://,
    and kombu would take it over the URL's scheme.
    """
    from config.celery_app import app

    app.conf.update(**MEMORY_BROKER)
    yield


@pytest.fixture
def memory_broker():
    """Celery's in-memory broker, the app returned, for tests whose submissions commit and whose
    enqueue needs somewhere to go; whatever a test set before is restored after it."""
    from config.celery_app import app

    previous = {name: app.conf[name] for name in MEMORY_BROKER}
    app.conf.update(**MEMORY_BROKER)
    yield app
    app.conf.update(**previous)


# The watermark key is pinned, so a copy's false-positive bound is the same in every run and a
# test of it can fail: with a random key, faint copies of the 4-s detection fixture identified
# for most keys, not all. Signing keys stay random per session.
PINNED_WATERMARK_KEY = hashlib.sha256(b"test session watermark key").digest()


@pytest.fixture(scope="session")
def astronaut_png() -> bytes:
    from tests.faces import astronaut, png_bytes

    return png_bytes(astronaut())


@pytest.fixture(scope="session")
def cameraman_png() -> bytes:
    from tests.faces import cameraman, png_bytes

    return png_bytes(cameraman())


@pytest.fixture(scope="session")
def astronaut_descriptor(astronaut_png) -> list[float]:
    """The astronaut's face descriptor as enrolment computes it (analysed once per session)."""
    from generator.face_analysis import analyse_portrait, load_image

    return [float(x) for x in analyse_portrait(load_image(astronaut_png)).descriptor]


@pytest.fixture(scope="session")
def grace_hopper_png() -> bytes:
    """Another real person, frontal: matplotlib's sample photo of Grace Hopper (it ships in the
    matplotlib wheel). skimage's cameraman is turned too far for enrolment."""
    import importlib.util
    from pathlib import Path

    import cv2

    folder = Path(importlib.util.find_spec("matplotlib").origin).parent / "mpl-data" / "sample_data"
    image = cv2.imread(str(folder / "grace_hopper.jpg"))
    ok, png = cv2.imencode(".png", image)
    assert ok
    return png.tobytes()


@pytest.fixture(scope="session", autouse=True)
def _pinned_watermark_key(tmp_path_factory):
    keys = tmp_path_factory.getbasetemp() / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    path = keys / "watermark.secret"
    if not path.exists():
        path.write_bytes(PINNED_WATERMARK_KEY)
        path.chmod(0o600)


@pytest.fixture(autouse=True)
def _isolated_platform_dirs(settings, tmp_path_factory):
    """Each test session signs with its own keys and writes media to a temporary folder."""
    base = tmp_path_factory.getbasetemp()
    settings.PLATFORM_KEYS_DIR = base / "keys"
    settings.MEDIA_ROOT = base / "media"


@pytest.fixture(autouse=True)
def _append_only_triggers(request):
    """Keep the audit log's append-only triggers in place for every database test, and lift them
    only for the flush (DELETE/TRUNCATE of every table) that ends a transactional test, which they
    would rightly refuse."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    transactional = bool({"transactional_db", "live_server"} & names) or bool(
        marker and marker.kwargs.get("transaction")
    )
    if not (transactional or marker or "db" in names):
        yield
        return
    request.getfixturevalue("transactional_db" if transactional else "db")
    from django.db import connection

    from audit import triggers

    triggers.install(connection)
    yield
    if transactional:
        triggers.remove(connection)


def _database_fixture(request) -> str | None:
    """The database fixture a test uses ("db" or "transactional_db"), or None."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if {"transactional_db", "live_server"} & names or (marker and marker.kwargs.get("transaction")):
        return "transactional_db"
    return "db" if marker or "db" in names else None


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Rate-limit counters live in the database cache, whose table a transactional test's flush
    leaves alone; tests hammer the limits on purpose. Every database test starts and ends with an
    empty cache; a test without the database cannot have touched it."""
    fixture = _database_fixture(request)
    if fixture is None:
        yield
        return
    request.getfixturevalue(fixture)
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _make_user(username: str, role: str, **extra):
    from accounts.models import User

    user = User.objects.create_user(
        username=username, password="correct horse battery staple", role=role, **extra
    )
    return user


@pytest.fixture
def owner(db):
    return _make_user("olivia", "owner", first_name="Olivia", last_name="Owner")


@pytest.fixture
def other_owner(db):
    return _make_user("oscar", "owner", first_name="Oscar", last_name="Other")


@pytest.fixture
def verifier(db):
    return _make_user("victor", "verifier", first_name="Victor")


@pytest.fixture
def auditor(db):
    return _make_user("ada", "auditor", first_name="Ada")


@pytest.fixture
def admin_user(db):
    return _make_user("alex", "admin", is_staff=True, is_superuser=True)


@pytest.fixture
def requester(db, verifier):
    """An approved requester of the organisation 'Newsroom'."""
    from accounts.services import requester_application_review, requester_application_submit

    user = _make_user("riley", "requester", first_name="Riley")
    application = requester_application_submit(
        requester=user,
        organisation_name="Newsroom",
        intended_use="Explainer videos presented by our consenting anchor.",
        accept_use_policy=True,
    )
    requester_application_review(
        application=application, verifier=verifier, approve=True, reason="Known newsroom."
    )
    user.refresh_from_db()
    return user


@pytest.fixture
def other_requester(db, verifier):
    from accounts.services import requester_application_review, requester_application_submit

    user = _make_user("rowan", "requester")
    application = requester_application_submit(
        requester=user,
        organisation_name="Other Studio",
        intended_use="Training videos for our own staff members.",
        accept_use_policy=True,
    )
    requester_application_review(
        application=application, verifier=verifier, approve=True, reason="Checked."
    )
    user.refresh_from_db()
    return user


@pytest.fixture
def unapproved_requester(db):
    return _make_user("uma", "requester")


def _login(client, user):
    """Sign `user` in on `client`; staff roles also get a confirmed TOTP device and an
    OTP-verified session, as if they had typed a correct code (2FA is required for them)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.two_factor import requires_two_factor

    client.force_login(user)
    if requires_two_factor(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="test device", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return user


@pytest.fixture
def login(db):
    """`login(client, user)`: force-login that also satisfies staff 2FA (see _login)."""
    return _login
