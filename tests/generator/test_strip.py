"""README strip: evenly spaced frames of a published clip, side by side, in one PNG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def _clip(path: Path, frames: int) -> Path:
    """A small H.264 clip whose frame i is uniformly grey level 5 * i (PyAV, tmp_path only)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        for i in range(frames):
            picture = np.full((64, 64, 3), 5 * i, np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    return path


def _strip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.strip", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_writes_n_evenly_spaced_frames_side_by_side(tmp_path):
    clip = _clip(tmp_path / "published.mp4", 41)
    out = tmp_path / "docs" / "strip.png"
    result = _strip(str(clip), "--out", str(out), "--frames", "5", "--height", "32")
    assert result.returncode == 0, result.stderr
    strip = np.asarray(Image.open(out))
    assert strip.shape == (32, 5 * 32, 3)
    levels = [strip[:, 32 * k : 32 * (k + 1)].mean() for k in range(5)]
    assert levels == sorted(levels)  # first frame to last, in order
    assert levels[0] < 10 and levels[-1] > 190


def test_a_file_that_is_not_a_video_is_one_line_and_exit_2(tmp_path):
    fake = tmp_path / "clip.mp4"
    fake.write_text("no video here")
    result = _strip(str(fake), "--out", str(tmp_path / "strip.png"))
    assert result.returncode == 2
    assert result.stderr.strip() == "error: clip.mp4 is not a readable video"
