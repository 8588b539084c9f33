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
