"""Phoneme -> viseme class -> mouth targets: how the training labels are made.

Visemes are the 15 classes of the widely used MPEG-4 / Oculus lip-sync set (sil, PP, FF, TH,
DD, kk, CH, SS, nn, RR, aa, E, ih, oh, ou). Each class has a target mouth shape on three
channels in [0, 1]: jaw_open (0 = lips closed), lip_width (0 = narrow/pursed, 1 = spread),
lip_round (0 = flat, 1 = fully rounded). Phoneme names are espeak-ng's English mnemonics.

Training targets per 10 ms frame come from the phoneme timeline, then a Gaussian blur stands in
for coarticulation (the mouth starts moving toward the next shape before the sound starts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VISEMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou",
)  # fmt: skip
SILENCE = 0


@dataclass(frozen=True)
class MouthShape:
    """Target mouth shape for one viseme, each channel in [0, 1]."""

    jaw_open: float
    lip_width: float
    lip_round: float


# Hand-set from phonetics references: open vowels open the jaw most, bilabials close the lips,
# rounded vowels and /w r/ purse them, /s i/ spread them. Silence is a relaxed closed mouth.
MOUTH_TARGETS: dict[str, MouthShape] = {
    "sil": MouthShape(0.00, 0.40, 0.10),
    "PP": MouthShape(0.00, 0.42, 0.15),
    "FF": MouthShape(0.12, 0.45, 0.05),
    "TH": MouthShape(0.22, 0.50, 0.05),
    "DD": MouthShape(0.28, 0.50, 0.10),
    "kk": MouthShape(0.38, 0.48, 0.12),
    "CH": MouthShape(0.22, 0.30, 0.65),
    "SS": MouthShape(0.12, 0.65, 0.05),
    "nn": MouthShape(0.22, 0.50, 0.10),
    "RR": MouthShape(0.25, 0.30, 0.60),
    "aa": MouthShape(0.95, 0.55, 0.10),
    "E": MouthShape(0.60, 0.68, 0.08),
    "ih": MouthShape(0.35, 0.85, 0.00),
    "oh": MouthShape(0.70, 0.30, 0.75),
    "ou": MouthShape(0.32, 0.18, 0.95),
}

# espeak-ng English mnemonics (phsource/ph_english*). Diphthongs take their first, usually
# dominant, element; the model learns the glide from the audio anyway.
PHONEME_TO_VISEME: dict[str, str] = {
    # bilabials, labiodentals, dentals
    "p": "PP", "b": "PP", "m": "PP",
    "f": "FF", "v": "FF",
    "T": "TH", "D": "TH",
    # alveolars
    "t": "DD", "d": "DD", "t#": "DD", "d#": "DD", "t[": "DD", "?": "DD",
    "n": "nn", "n-": "nn", "l": "nn", "l/": "nn", "@L": "nn", "N": "kk",
    # velars and glottal
    "k": "kk", "g": "kk", "x": "kk", "h": "kk",
    # postalveolars
    "S": "CH", "Z": "CH", "tS": "CH", "dZ": "CH",
    "s": "SS", "z": "SS",
    # approximants
    "r": "RR", "r-": "RR", "w": "ou", "w#": "ou", "j": "ih",
    # open vowels
    "a": "aa", "a#": "aa", "aa": "aa", "A:": "aa", "A@": "aa", "V": "aa", "VR": "aa",
    "aI": "aa", "aI@": "aa", "aI2": "aa", "aI3": "aa", "aU": "aa", "aU@": "aa", "A": "aa",
    # mid and central vowels
    "E": "E", "E2": "E", "E@": "E", "e": "E", "e@": "E", "eI": "E",
    "@": "E", "@2": "E", "@5": "E", "3": "E", "3:": "RR", "@r": "RR",
    # close front vowels
    "i": "ih", "i:": "ih", "I": "ih", "I2": "ih", "I#": "ih", "IR": "ih", "i@": "ih", "i@3": "ih",
    # rounded back vowels
    "0": "oh", "O": "oh", "O:": "oh", "O@": "oh", "o@": "oh", "O2": "oh", "OI": "oh",
    "oU": "oh", "oU#": "oh",
    "u:": "ou", "U": "ou", "U@": "ou", "u": "ou",
}  # fmt: skip

_VOWEL_FALLBACK = {"a": "aa", "A": "aa", "V": "aa", "e": "E", "E": "E", "@": "E", "3": "E"}
_VOWEL_FALLBACK |= {"i": "ih", "I": "ih", "o": "oh", "O": "oh", "0": "oh", "u": "ou", "U": "ou"}


def viseme_of(phoneme: str) -> str:
    """Viseme class name for an espeak-ng phoneme mnemonic; pauses and unknowns are handled."""
    name = phoneme.strip().lstrip("'%,=")  # stress / syllable marks, if a voice emits them
    if not name or name.startswith("_"):
        return "sil"
    if name in PHONEME_TO_VISEME:
        return PHONEME_TO_VISEME[name]
    stripped = name.rstrip(":#-[/0123456789")
    if stripped in PHONEME_TO_VISEME:
        return PHONEME_TO_VISEME[stripped]
    return _VOWEL_FALLBACK.get(name[0], "DD")  # consonant-like default: a neutral half-open mouth


VISEME_INDEX = {name: i for i, name in enumerate(VISEMES)}
MOUTH_TABLE = np.array(
    [[s.jaw_open, s.lip_width, s.lip_round] for s in (MOUTH_TARGETS[v] for v in VISEMES)],
    dtype=np.float32,
)  # (15, 3)


def frame_labels(
    phonemes: list[tuple[str, float]], duration_s: float, n_frames: int, hop_s: float
) -> np.ndarray:
    """Viseme index for each frame from (phoneme, start seconds) pairs: (n_frames,) int64.

    Frame i is labelled with the phoneme sounding at its centre, (i + 0.5) * hop_s; audio
    before the first phoneme or after `duration_s` is silence.
    """
    centres = (np.arange(n_frames) + 0.5) * hop_s  # (F,)
    labels = np.full(n_frames, SILENCE, dtype=np.int64)
    if not phonemes:
        return labels
    starts = np.array([start for _, start in phonemes], dtype=np.float64)  # (P,)
    classes = np.array([VISEME_INDEX[viseme_of(p)] for p, _ in phonemes], dtype=np.int64)
    which = np.searchsorted(starts, centres, side="right") - 1  # (F,) phoneme index or -1
    inside = (which >= 0) & (centres < duration_s)
    labels[inside] = classes[which[inside]]
    return labels


def mouth_targets(labels: np.ndarray, hop_s: float, coarticulation_s: float = 0.03) -> np.ndarray:
    """Smoothed mouth channels from frame labels: (F,) int -> (F, 3) float32 in [0, 1].

    A Gaussian blur (sigma = coarticulation_s) blends neighbouring shapes; bilabial closures
    are then re-imposed at half strength so /p b m/ still visibly close the lips.
    """
    raw = MOUTH_TABLE[labels]  # (F, 3)
    sigma = coarticulation_s / hop_s
    radius = max(1, int(round(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(raw, ((radius, radius), (0, 0)), mode="edge")  # (F + 2r, 3)
    smooth = np.stack([np.convolve(padded[:, c], taps, mode="valid") for c in range(3)], axis=1)
    closure = labels == VISEME_INDEX["PP"]
    smooth[closure, 0] *= 0.5
    return np.clip(smooth, 0.0, 1.0).astype(np.float32)  # (F, 3)
