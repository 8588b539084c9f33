"""Which frame carries which payload word, in which bit order, and which frames detection reads.

Frames go in runs, run r rendered from word r % WORD_COUNT's appearance. The first WORD_COUNT
runs are SHORT_RUN_FRAMES long, so a 1.4-s clip (the shortest speech a job renders) carries every
word; later runs are RUN_FRAMES long, because H.264 predicts a run's frames from the previous
run's and needs a few frames to replace one mark with the next. Each cycle of the six runs
carries the words with their bits in another of BIT_ORDERS orders.
"""

from __future__ import annotations

import functools
import hashlib
import math

import numpy as np

from provenance.errors import WatermarkError
from provenance.payload import WORD_BITS, WORD_COUNT, word_bits

RUN_FRAMES = 12  # frames per run of one word, after the first WORD_COUNT short runs
SHORT_RUN_FRAMES = 6  # the first cycle: all 6 words within 36 frames (1.44 s)
BIT_ORDERS = 4  # cycles of the 6 runs take turns among 4 orders of each word's bits
SCHEDULE_FPS = 25.0  # the rate outputs are published at: a re-timed copy is mapped back to it
DETECT_SAMPLES = 16  # middle frames of 16 consecutive runs (2.7 cycles of the 6 words)
SECOND_LOOK_SAMPLES = 32  # more middle frames when the first look does not identify
EARLY_FRAMES = 6  # the first look: one frame per payload word
# The groupings detection tries: the schedule at each of its phases (a run number offset, in case
# a copy lost whole runs at its start), which also name the bit orders.
GROUPINGS = WORD_COUNT * BIT_ORDERS  # 24


_SHORT_SPAN = SHORT_RUN_FRAMES * WORD_COUNT  # 36 frames


def run_of(index: int) -> int:
    """The run (0, 1, ...) frame `index` of an output belongs to."""
    if index < 0:
        raise WatermarkError("frame indices start at 0")
    if index < _SHORT_SPAN:
        return index // SHORT_RUN_FRAMES
    return WORD_COUNT + (index - _SHORT_SPAN) // RUN_FRAMES


def run_middle(run: int) -> int:
    """The index of run `run`'s middle frame: the one the encoder has settled on its word."""
    if run < WORD_COUNT:
        return run * SHORT_RUN_FRAMES + SHORT_RUN_FRAMES // 2
    return _SHORT_SPAN + (run - WORD_COUNT) * RUN_FRAMES + RUN_FRAMES // 2


def word_for_frame(index: int) -> int:
    """Which payload word (0..WORD_COUNT-1) frame `index` of an output carries."""
    return run_of(index) % WORD_COUNT


def bit_order_of_run(run: int) -> int:
    """Which of the BIT_ORDERS orders run `run`'s word is embedded in: one per cycle of runs."""
    return run // WORD_COUNT % BIT_ORDERS


@functools.cache
def bit_orders() -> tuple[np.ndarray, ...]:
    """BIT_ORDERS permutations of a word's 32 positions, the first the identity: under order o,
    position k carries the word's bit bit_orders()[o][k].

    Why: after a re-encode or a downscale the bits the decoder gets wrong are the same in every
    frame (the residual's fine detail behind them is gone from that portrait), so averaging
    frames cannot fix them. Carrying each bit at a different position in each cycle spreads a
    weak position over four bits, each of which it harms once in four cycles (measured, 6 clips
    decoded on the schedule: wrong bits of 96 after CRF 30 8/6/5/2/13/8 with one order,
    1/0/4/0/4/2 with four; after a half-size copy 11/7/10/7/15/15 against 3/3/7/4/7/6).
    Fixed, not keyed: the words themselves are already keyed (provenance.payload); sorted by
    SHA-256 so every version of every library gives the same orders.
    """
    orders = [np.arange(WORD_BITS)]
    for order in range(1, BIT_ORDERS):
        rank = [
            hashlib.sha256(f"bit-order-{order}-{k}".encode()).digest() for k in range(WORD_BITS)
        ]
        orders.append(np.array(sorted(range(WORD_BITS), key=rank.__getitem__)))
    for order in orders:
        order.setflags(write=False)
    return tuple(orders)


def ordered_word(word: int, order: int) -> int:
    """`word` with its bits in order `order`: the 32-bit word the encoder embeds for it."""
    bits = word_bits(word)[bit_orders()[order]]  # (32,) position k holds bit order[k]
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def in_word_order(soft: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Soft bits (n, 32) of samples from runs `runs` (n,), each put back into the word's own bit
    order (undoing its run's bit order)."""
    ordered = np.empty_like(soft)
    for t, run in enumerate(runs.tolist()):
        ordered[t, bit_orders()[bit_order_of_run(run)]] = soft[t]
    return ordered


def run_middles(count: int) -> list[int]:
    """Middle frames of every run that has one among `count` frames."""
    middles = []
    while run_middle(len(middles)) < count:
        middles.append(run_middle(len(middles)))
    return middles


def appearance_for_frame(index: int) -> int:
    """Which of the BIT_ORDERS x WORD_COUNT marked appearances frame `index` is rendered from."""
    run = run_of(index)
    return bit_order_of_run(run) * WORD_COUNT + run % WORD_COUNT


def _same_rate(fps: float | None) -> bool:
    return fps is None or not fps > 0 or abs(fps - SCHEDULE_FPS) <= 0.01 * SCHEDULE_FPS


def schedule_index(index: int, fps: float | None = SCHEDULE_FPS) -> int:
    """The output frame shown at the time of frame `index` of a copy playing at `fps`."""
    return index if _same_rate(fps) else round(index * SCHEDULE_FPS / fps)


def run_at(index: int, fps: float | None = SCHEDULE_FPS) -> int:
    """The run frame `index` of a copy playing at `fps` shows (the output's own: fps 25)."""
    return run_of(schedule_index(index, fps))


def _in_copy(schedule: list[int], count: int, fps: float | None) -> list[int]:
    """Output frame indices -> the copy's frames showing them (of `count`), in order, once each."""
    if _same_rate(fps):
        return schedule
    mapped = (round(i * fps / SCHEDULE_FPS) for i in schedule)
    return list(dict.fromkeys(i for i in mapped if i < count))


def _schedule_count(count: int, fps: float | None) -> int:
    return count if _same_rate(fps) else math.floor(count * SCHEDULE_FPS / fps)


def sample_positions(count: int, fps: float | None = SCHEDULE_FPS) -> list[int]:
    """Indices of the frames detection decodes, out of `count` frames of a copy at `fps`.

    The middle frame of DETECT_SAMPLES consecutive runs around the clip's centre: a run's first
    frame is predicted by the encoder from the previous word and carries a smeared mark, while a
    copy that keeps the frame timing (re-encoded, resized, cropped, brightened) keeps its
    mid-run frames where they were. Consecutive runs give every word (16 runs: each of the 6
    words 2-3 times) with each word's complement one run away, at nearly the same head pose.
    A clip with fewer runs gives every middle frame it has and settled frames beside them.
    A copy re-timed to another frame rate is read at the frames showing the same moments (runs
    are 0.24-0.48 s long, so a middle stays inside its run at any common rate).
    """
    if count <= 0:
        return []
    total = _schedule_count(count, fps)
    middles = run_middles(total)
    if len(middles) < WORD_COUNT:
        return sorted({round(x) for x in np.linspace(0, count - 1, min(count, DETECT_SAMPLES))})
    if len(middles) < DETECT_SAMPLES:  # a short clip: add settled frames beside the middles
        beside = [i for i in _beside_middles(middles) if i < total]
        keep = np.linspace(0, len(beside) - 1, min(len(beside), DETECT_SAMPLES - len(middles)))
        return _in_copy(sorted(middles + [beside[round(x)] for x in keep]), count, fps)
    first = (len(middles) - DETECT_SAMPLES) // 2
    return _in_copy(middles[first : first + DETECT_SAMPLES], count, fps)


def _beside_middles(middles: list[int]) -> list[int]:
    """Frames a quarter-run either side of each run's middle (run = position in `middles`):
    settled on their word, like the middle."""
    beside = []
    for run, middle in enumerate(middles):
        offset = max(1, (SHORT_RUN_FRAMES if run < WORD_COUNT else RUN_FRAMES) // 4)
        beside += [middle - offset, middle + offset]
    return beside


def holds_every_word(runs: np.ndarray) -> bool:
    """Whether samples from runs `runs` (n,) include every one of the WORD_COUNT words. Shifting
    every run by one phase permutes the words, so the answer is the same under every phase."""
    return len(set((np.asarray(runs) % WORD_COUNT).tolist())) == WORD_COUNT


def second_look_positions(count: int, fps: float | None = SCHEDULE_FPS) -> list[int]:
    """Up to SECOND_LOOK_SAMPLES more settled frames for a second look: the other runs' middles,
    then frames a quarter-run either side of the long runs' middles (of every run's, in a clip
    too short for DETECT_SAMPLES runs, whose first look already took some of them); for a copy
    at another `fps`, the frames showing those moments."""
    total = _schedule_count(count, fps)
    taken = set(sample_positions(count, fps))
    first = {schedule_index(i, fps) for i in taken}
    middles = run_middles(total)
    if len(middles) < WORD_COUNT:
        return []
    beside = _beside_middles(middles)
    if len(middles) >= DETECT_SAMPLES:
        beside = beside[2 * WORD_COUNT :]
    settled = middles + [i for i in beside if i < total]
    more = sorted([i for i in settled if i not in first][:SECOND_LOOK_SAMPLES])
    return [i for i in _in_copy(more, count, fps) if i not in taken]


def detection_looks(runs: np.ndarray, times: np.ndarray, sampled: int) -> list[list[int]]:
    """The growing sets of sampled frames a detector decides on, as indices into them.

    runs, times: each sampled frame's run and index in its clip, (n + m,); the first `sampled`
    are the first look's samples, the rest second-look frames. The looks: one frame per payload
    word when the samples hold more than EARLY_FRAMES (the first frame of each word the schedule
    gives by `runs`; without all six words, the first EARLY_FRAMES), every sample, then every
    frame when there are second-look frames. Each look is in time order.
    """
    first: dict[int, int] = {}
    for i, run in enumerate(runs[:sampled].tolist()):
        first.setdefault(run % WORD_COUNT, i)
    looks = []
    if sampled > EARLY_FRAMES:
        words_complete = len(first) == WORD_COUNT
        looks.append(sorted(first.values()) if words_complete else list(range(EARLY_FRAMES)))
    looks.append(list(range(sampled)))
    if len(runs) > sampled:
        looks.append(list(range(len(runs))))
    return [sorted(look, key=lambda i: times[i]) for look in looks]
