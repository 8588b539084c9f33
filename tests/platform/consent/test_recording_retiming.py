"""Browser recordings are re-timed onto a constant frame rate before the checks sample them."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from consent.recordings import RecordingError, recording_constant_rate
from provenance.media import probe


def _variable_rate_webm(path, *, frames: int = 90) -> None:
    """Like MediaRecorder's output: 1 ms time base, irregular frame spacing."""
    with av.open(str(path), mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        pts = 0
        for index in range(frames):
            pixels = np.full((240, 320, 3), (index * 3) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += 25 + (index % 4) * 10  # 25..55 ms apart
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_it_keeps_the_length_on_a_constant_grid(tmp_path):
    source, target = tmp_path / "in.webm", tmp_path / "out.mp4"
    _variable_rate_webm(source)
    recording_constant_rate(source, target, fps=10, max_seconds=60)
    steady = probe(target)
    assert steady.fps == 10.0
    assert steady.duration_s == pytest.approx(probe(source).duration_s, abs=0.15)


def test_it_stops_after_the_maximum(tmp_path):
    source, target = tmp_path / "in.webm", tmp_path / "out.mp4"
    _variable_rate_webm(source)
    recording_constant_rate(source, target, fps=10, max_seconds=1)
    assert probe(target).duration_s == pytest.approx(2.1, abs=0.11)  # max + 1 s, then stop


def test_it_refuses_what_is_not_a_video(tmp_path):
    source = tmp_path / "in.webm"
    source.write_bytes(b"\x1a\x45\xdf\xa3 not really matroska")
    with pytest.raises(RecordingError):
        recording_constant_rate(source, tmp_path / "out.mp4", fps=10, max_seconds=60)
