"""A detection process's heap: big buffers returned to the system as soon as they are freed.

A check allocates tens of megabytes of frames and decoder activations and frees them all; the
registry beside them is long-lived. glibc would keep the freed memory in its heap, so a worker
would sit and peak above what it holds (docs/benchmarks.md has the measurements).
"""

from __future__ import annotations

import ctypes
import ctypes.util

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
# Buffers from this size up (a 512-px frame is 768 KiB) are mapped on their own and handed back
# to the system when freed. glibc's default threshold rises to the largest buffer freed so far
# (up to 32 MiB), after which frames and decoder activations come from the heap and stay in it,
# fragmented, between the steps of a check: measured at 10^6 outputs, ~50 MB more at each
# check's peak, for no measurable CPU.
LARGE_BUFFER_BYTES = 256 * 1024


def return_large_buffers_at_once() -> bool:
    """Fix glibc's mmap threshold for this process (and the children it forks); False where the
    C library has no mallopt (not glibc)."""
    mallopt = getattr(_libc, "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES))


def release_freed_memory() -> None:
    """Give the heap a check freed back to the system: what is below the threshold, or was
    freed before it was set, would otherwise stay in glibc's heap."""
    trim = getattr(_libc, "malloc_trim", None)  # glibc only
    if trim is not None:
        trim(0)
