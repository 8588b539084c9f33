"""README strip: N evenly spaced frames of a published clip, side by side, as one PNG.

    python -m tools.strip CLIP.mp4 --out docs/strip.png [--frames 6] [--height 256]

It reads a clip that has already been published (watermarked and signed by the provenance
pipeline); it never renders frames itself, so the picture people see is the marked output.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import av
import numpy as np
from PIL import Image

from generator.errors import GeneratorError


def make_strip(
    clip: str | os.PathLike, out: str | os.PathLike, *, frames: int = 6, height: int = 256
) -> Path:
    """Write `frames` evenly spaced frames of `clip`, scaled to `height`, as one PNG at `out`."""
    if not 1 <= frames <= 24 or not 32 <= height <= 1024:
        raise GeneratorError("frames must be 1..24 and height 32..1024", code="invalid_strip")
    total = _count_frames(Path(clip))
    if total == 0:
        raise GeneratorError(f"no video frames in {Path(clip).name}", code="invalid_video")
    picks = np.linspace(0, total - 1, num=min(frames, total)).round().astype(int)
    pictures = _decode_rgb(Path(clip), set(picks.tolist()), height)
    strip = np.hstack(pictures)  # (height, frames * width, 3)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(strip).save(out, format="PNG", optimize=True)
    return out


def _count_frames(clip: Path) -> int:
    """Frames in the clip's first video stream (decoded, not trusted from the header)."""
    with _open(clip) as container:
        return sum(1 for _ in container.decode(video=0))


def _decode_rgb(clip: Path, picks: set[int], height: int) -> list[np.ndarray]:
    """Only the picked frames, as RGB scaled to `height`: a 60 s clip never sits in memory."""
    pictures = []
    with _open(clip) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in picks:
                width = max(1, round(frame.width * height / frame.height))
                pictures.append(frame.to_ndarray(format="rgb24", width=width, height=height))
    return pictures


def _open(clip: Path) -> av.container.InputContainer:
    if not clip.is_file():
        raise GeneratorError(f"clip not found: {clip}", code="invalid_video")
    try:
        container = av.open(str(clip))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise GeneratorError(f"{clip.name} is not a readable video", code="invalid_video") from exc
    if not container.streams.video:
        container.close()
        raise GeneratorError(f"{clip.name} has no video stream", code="invalid_video")
    return container


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _OneLineParser(prog="python -m tools.strip", description=__doc__)
    parser.add_argument("clip", help="a published (watermarked) mp4")
    parser.add_argument("--out", required=True, help="PNG to write, e.g. docs/strip.png")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--height", type=int, default=256)
    args = parser.parse_args(argv)
    try:
        path = make_strip(args.clip, args.out, frames=args.frames, height=args.height)
    except GeneratorError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
