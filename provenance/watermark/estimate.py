"""Soft estimates of the 96 codeword bits from decoder logits of sampled frames.

Each word rides on two appearances (plus and minus its residual): differencing the runs of a
word and of its complement cancels the decoder's response to the picture itself.
"""

from __future__ import annotations

import numpy as np

from provenance.payload import DATA_WORDS, WORD_COUNT

from .schedule import GROUPINGS, holds_every_word, in_word_order


def soft_bits(logits: np.ndarray) -> np.ndarray:
    """Soft bits in [-3, 3], scaled per frame so one loud frame cannot outvote the others."""
    scale = np.median(np.abs(logits), axis=1, keepdims=True) + 1e-6  # (N, 1)
    return np.clip(logits / scale, -3.0, 3.0)  # (N, 32)


def pair_estimate(soft: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Bias-free soft estimate of the 96 codeword bits from samples of runs `runs`, (96,).

    Each sample's bits are put back into word order; per data word, the mean over the runs
    carrying it minus the mean over the runs carrying its complement, so the content bias
    cancels. Every word must be among the runs.
    """
    ordered = in_word_order(soft, runs)  # (n, 32)
    words = runs % WORD_COUNT  # (n,)
    return np.concatenate(
        [
            ordered[words == 2 * j].mean(axis=0) - ordered[words == 2 * j + 1].mean(axis=0)
            for j in range(DATA_WORDS)
        ]
    )


def groupings(soft: np.ndarray, runs: np.ndarray):
    """Every bias-free 96-bit soft estimate the detector tries (up to GROUPINGS of them), (96,).

    Samples are middle frames of runs `runs` (run numbers, (n,)) in any copy that keeps the
    frame timing or is mapped back to it (`run_at`), so sample t comes from run phase + runs[t]
    for one of GROUPINGS phases: phase 0 for an intact timeline, another for a copy whose start
    was cut by whole runs. Nothing when some word has no sample (`holds_every_word`).
    """
    if not holds_every_word(runs):
        return
    for phase in range(GROUPINGS):
        yield pair_estimate(soft, phase + runs)


def frame_agreement(logits: np.ndarray, runs: np.ndarray, codeword: np.ndarray) -> np.ndarray:
    """Each sampled frame's bit agreement (0..1) with the word a payload's output shows at its
    run, for the evidence timeline, (n,).

    The schedule's phase is the one whose pair-differenced estimate agrees most with the
    codeword (the phase detection itself would pick). A frame's raw bits carry the decoder's
    response to the picture too, so unmarked frames sit near 0.5, not at it.
    logits: (n, 32); runs: (n,); codeword: (96,) of 0/1.
    """
    runs = np.asarray(runs)
    soft = soft_bits(logits)  # (n, 32)
    signs = np.where(np.asarray(codeword) > 0, 1.0, -1.0)  # (96,)
    phase = 0
    if holds_every_word(runs):
        scores = [float(pair_estimate(soft, p + runs) @ signs) for p in range(GROUPINGS)]
        phase = int(np.argmax(scores))
    ordered = in_word_order(soft, phase + runs)  # (n, 32), each in its word's own bit order
    words = (phase + runs) % WORD_COUNT  # (n,)
    data = words // 2  # which data word; odd words are its complement
    expected = signs.reshape(DATA_WORDS, -1)[data] * np.where(words % 2 == 0, 1.0, -1.0)[:, None]
    return ((ordered > 0) == (expected > 0)).mean(axis=1)  # (n,)
