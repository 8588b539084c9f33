"""A detection process hands big freed buffers (frames, decoder activations) straight back to
the system, so its memory between and during checks is what it holds, not what it once held."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# In a fresh interpreter: frames freed while small long-lived buffers sit between them in the
# heap. Prints how many MB stay resident after the frames are gone.
PROGRAM = """
import sys
import numpy as np
sys.path.insert(0, "platform")
from detection.heap import return_large_buffers_at_once

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

if sys.argv[1] == "fixed":
    assert return_large_buffers_at_once()
big = np.ones(4 << 20, np.uint8)
del big  # glibc's own threshold now rises to 4 MiB: 768 KiB frames would come from the heap
before = rss_mb()
frames, kept = [], []
for _ in range(100):
    frames.append(np.ones(512 * 512 * 3, np.uint8))  # one 512-px RGB frame
    kept.append(np.ones(4096, np.uint8))  # small and long-lived, between the frames
del frames
print(round(rss_mb() - before))
"""


def _resident_after_freeing(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_frames_go_back_to_the_system():
    assert _resident_after_freeing("fixed") < 10  # of 75 MB of frames


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_without_it_the_heap_keeps_them():
    """The check above can fail: glibc's default keeps most of the frames resident."""
    assert _resident_after_freeing("default") > 50
