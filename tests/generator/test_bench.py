"""Bench CLI: figures as the last JSON line; bad input is one stderr line and a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from generator.audio import frame_count, load_audio

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"frames", "audio_seconds", "analyse_ms", "render_fps", "first_frame_ms", "peak_rss_mb"}


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generator.bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def portrait(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


@pytest.mark.slow
def test_it_prints_every_figure_as_json_on_the_last_line(portrait, speech_wav):
    result = _bench("--portrait", str(portrait), "--audio", str(speech_wav), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert KEYS <= figures.keys()
    clip = load_audio(speech_wav)
    assert figures["frames"] == frame_count(clip.duration_s, 25.0)
    assert figures["audio_seconds"] == pytest.approx(clip.duration_s, abs=0.01)
    assert figures["render_fps"] > 0 and figures["analyse_ms"] > 0
    assert 0 < figures["first_frame_ms"] < 2000
    assert 0 < figures["peak_rss_mb"] < 1024


def test_a_portrait_that_is_not_an_image_is_one_line_and_exit_2(tmp_path, speech_wav):
    text = tmp_path / "portrait.png"
    text.write_text("not a picture")
    result = _bench("--portrait", str(text), "--audio", str(speech_wav), "--json")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "not a readable image" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_portrait_without_a_face_is_one_line_and_exit_2(tmp_path, speech_wav):
    blank = tmp_path / "wall.png"
    Image.new("RGB", (160, 120), (180, 170, 160)).save(blank)  # small: the CNN fallback is quick
    result = _bench("--portrait", str(blank), "--audio", str(speech_wav))
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no face found"


def test_audio_that_is_not_audio_is_one_line_and_exit_2(tmp_path, portrait):
    noise = tmp_path / "speech.wav"
    noise.write_bytes(b"\x00\x01 definitely not a wav file" * 10)
    result = _bench("--portrait", str(portrait), "--audio", str(noise))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


def test_missing_arguments_are_one_line_and_exit_2():
    result = _bench("--json")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
