"""Benchmark: analysis, motion and rendering into memory, timed on this machine.

    python -m generator.bench --portrait P --audio A [--seed N] [--json]

`render_fps` is frames / wall seconds of the offline path (viseme model + motion +
rendering; frames are consumed, never kept). `first_frame_ms` is the online path's latency
from the first audio chunk to the first frame, with 40 ms chunks arriving in real time (the
viseme model needs 60 ms of look-ahead past a frame, so most of it is waiting for audio).
Bad input: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from generator.audio import SAMPLE_RATE, AudioClip, load_audio
from generator.config import Controls, RenderConfig
from generator.errors import GeneratorError

if TYPE_CHECKING:
    from generator.face_analysis import PortraitAnalysis

CHUNK_S = 0.04  # one 25 fps frame of audio per chunk, as a microphone callback would deliver


def _peak_rss_kib() -> int:
    """This process's peak resident set (VmHWM).

    Not getrusage's ru_maxrss: Linux carries it across exec, so a bench started from a big parent
    (a test runner, a worker) would report the parent's size instead of its own.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_bench(portrait: str, audio: str, *, seed: int = 0) -> dict[str, float | int | str]:
    """Run the whole benchmark and return its figures (raises GeneratorError on bad input)."""
    # Heavy imports (dlib models, torch) only once the arguments parsed, so a bad command
    # line answers at once.
    from generator.face_analysis import analyse_portrait, load_image, load_models
    from generator.landmarks import default_provider

    config = RenderConfig()
    controls = Controls(seed=seed).validated()
    image = load_image(portrait, max_pixels=config.max_pixels)
    clip = load_audio(audio)

    import torch

    from generator.pipeline import render

    torch.set_num_threads(1)

    started = time.perf_counter()
    load_models()
    provider = default_provider()
    models_ms = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    analysis = analyse_portrait(image, config, provider=provider)
    analyse_ms = (time.perf_counter() - started) * 1000

    # Warm-up: loads the viseme checkpoint once, as a serving process would have done.
    for _ in render(analysis, AudioClip(np.zeros(SAMPLE_RATE // 5, np.float32)), controls):
        pass

    started, cpu_started = time.perf_counter(), time.process_time()
    frames = 0
    checksum = 0
    for frame in render(analysis, clip, controls, config):
        frames += 1
        checksum += int(frame[256, 256, 0])  # touch every frame so none is optimised away
    render_s = time.perf_counter() - started
    render_cpu_s = time.process_time() - cpu_started

    first_frame_ms, setup_ms = _first_frame_latency(analysis, clip, controls, config)
    return {
        "frames": frames,
        "audio_seconds": round(clip.duration_s, 3),
        "analyse_ms": round(analyse_ms, 1),
        "render_fps": round(frames / render_s, 1) if render_s > 0 else 0.0,
        "first_frame_ms": round(first_frame_ms, 1),
        "peak_rss_mb": round(_peak_rss_kib() / 1024, 1),
        "stream_setup_ms": round(setup_ms, 1),
        "models_load_ms": round(models_ms, 1),
        # Frames per CPU-second of this process: what render_fps would be with the cores to
        # itself (the machine is shared; load_average_1m says how busy it was).
        "render_fps_cpu": round(frames / render_cpu_s, 1) if render_cpu_s > 0 else 0.0,
        "device": "cuda" if torch.cuda.is_available() else "cpu",  # the viseme model's
        "cpu_count": os.cpu_count() or 0,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "checksum": checksum,
    }


def _first_frame_latency(
    analysis: PortraitAnalysis, clip: AudioClip, controls: Controls, config: RenderConfig
) -> tuple[float, float]:
    """(ms from the first chunk's arrival to the first frame, ms to set the session up)."""
    from generator.pipeline import stream

    chunk = int(CHUNK_S * SAMPLE_RATE)
    arrivals: list[float] = []

    def live_chunks() -> Iterator[np.ndarray]:
        for k, start in enumerate(range(0, len(clip.samples), chunk)):
            if arrivals:
                # Chunk k exists only CHUNK_S * k after the first one: wait for it.
                delay = arrivals[0] + k * CHUNK_S - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            arrivals.append(time.perf_counter())
            yield clip.samples[start : start + chunk]

    started = time.perf_counter()
    frames = stream(analysis, live_chunks(), controls, config)
    setup_ms = (time.perf_counter() - started) * 1000
    next(frames)
    first_ms = (time.perf_counter() - arrivals[0]) * 1000
    frames.close()
    return first_ms, setup_ms


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _OneLineParser(prog="python -m generator.bench", description=__doc__)
    parser.add_argument("--portrait", required=True, help="portrait image (jpg, png, ...)")
    parser.add_argument("--audio", required=True, help="speech clip (wav, mp3, m4a, ogg, flac)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args(argv)
    try:
        figures = run_bench(args.portrait, args.audio, seed=args.seed)
    except GeneratorError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a CLI answers in one line, never a traceback
        print(f"error: internal failure ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>16}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
