"""The live benchmark as the issue states it: one 60-s session on loopback, measured by the same
`run_session` that `manage.py live_client --json` runs, while a web server, a live node and a
real Celery worker run. Not a test (its name keeps it out of the suite: timed targets live in
benchmarks); run it on a quiet machine with

    .venv/bin/python -m pytest -q -s tests/platform/live/measure_live_session.py

It prints `live_client`'s JSON line, then the recording's lip-sync figures beside an offline
render's of the same speech, and appends nothing anywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.platform.jobs.conftest import espeak_wav

from .conftest import grant_for
from .test_live_recording import recording_lip_sync
from .test_live_session import _run

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# About 65 s of speech with the pauses of a conversation.
LINES = [
    "Good morning, and thank you for joining this call.",
    "I would like to walk you through the plan for the coming weeks.",
    "First, we will review what went well last quarter, and what did not.",
    "Then we will agree on three goals, each with a clear owner and a date.",
    "Please interrupt me at any time if something is unclear.",
    "The numbers are on the shared page, and I will read the main ones aloud.",
    "Sales grew a little, costs stayed flat, and the team is one person larger.",
    "Our customers asked most often for faster answers and simpler pricing.",
    "So the first goal is to answer every question within one working day.",
    "The second goal is a price list that fits on a single page.",
    "The third goal is to finish the move to the new office before spring.",
    "Before we close, a word about the new hires who start on Monday.",
    "Each of them will shadow one of us for two weeks, so please make room in your calendar.",
    "If you have ideas for their first project, send them to me by Friday.",
    "We will also test the new support tool next month, with five volunteers from this team.",
    "It promises shorter queues, but we will judge it by what customers tell us.",
    "That is all from me for now. Thank you for listening, and see you next week.",
]


def test_one_live_session_of_sixty_seconds(
    live_server, live_node, identity, owner, requester, tmp_path
):
    from knox.models import AuthToken

    grant_for(identity, owner, requester, allow_live=True, seconds=120)
    _, token = AuthToken.objects.create(user=requester)
    audio = espeak_wav(tmp_path / "speech.wav", " ".join(LINES))
    # An idle worker beside the web server and the node, as `make run` has, on a broker folder
    # of its own.
    var = tmp_path / "var"
    for folder in ("queue", "processed", "control"):
        (var / "celery" / folder).mkdir(parents=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "--workdir", "platform", "-A", "config", "worker",
         "--concurrency", "1", "--loglevel", "WARNING"],
        env={**os.environ, "PYTHONPATH": str(Path.cwd()), "VAR_DIR": str(var)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        result = _run(live_server, token, identity, audio)
        assert worker.poll() is None, "the Celery worker did not stay up through the session"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    keys = ("first_frame_ms", "glass_to_glass_ms_p50", "glass_to_glass_ms_p95", "fps")
    figures = {key: result.get(key) for key in (*keys, "dropped_frames", "record_id")}
    figures.update(
        frames_received=result.get("frames_received"),
        setup_ms=result.get("setup_ms"),
        audio_seconds=result.get("audio_seconds"),
        load_average_1min=round(os.getloadavg()[0], 2),
    )
    print(json.dumps(figures))
    # The recording's lip sync, by generator.quality's code, beside an offline render's.
    live, offline = recording_lip_sync(result["record_id"], identity, audio)
    print(json.dumps({"lip_sync_recording": asdict(live), "lip_sync_offline": asdict(offline)}))
    assert result["status"] == "ended", result
