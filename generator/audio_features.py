"""Log-mel spectrogram in torch: the audio features the viseme model reads.

Frames are *causal*: frame i covers the 25 ms window that ends at sample (i + 1) * HOP, i.e. the
newest audio in it is the 10 ms hop [i * HOP, (i + 1) * HOP). A streaming caller that keeps the
last WINDOW - HOP samples of context therefore computes exactly the frames the offline call
does, with no look-ahead hidden inside the features.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from generator.audio import SAMPLE_RATE

N_MELS = 80
HOP = 160  # 10 ms at 16 kHz
WINDOW = 400  # 25 ms
N_FFT = 512
F_MIN = 20.0
F_MAX = 7_600.0
LOG_FLOOR = 1e-5  # log(1e-5) ~ -11.5: what digital silence maps to


def log_mel(samples: torch.Tensor) -> torch.Tensor:
    """(N,) float32 16 kHz mono -> (F, 80) log-mel, F = ceil(N / 160), one row per 10 ms.

    The left edge is zero-padded with WINDOW - HOP samples (silence before the clip) and the
    right edge up to a whole hop, so every sample lands in exactly one hop.
    """
    samples = samples.to(torch.float32).reshape(-1)
    n_frames = math.ceil(samples.numel() / HOP)
    right = n_frames * HOP - samples.numel()
    padded = torch.nn.functional.pad(samples, (WINDOW - HOP, right))  # (F*HOP + 240,)
    return log_mel_unpadded(padded)


def log_mel_unpadded(padded: torch.Tensor) -> torch.Tensor:
    """Log-mel of every full 25 ms window in `padded` at 10 ms hops: (L,) -> (F, 80).

    F = (L - WINDOW) // HOP + 1. Streaming code calls this on its buffer (context + new audio).
    """
    if padded.numel() < WINDOW:
        return torch.zeros(0, N_MELS, dtype=torch.float32, device=padded.device)
    frames = padded.unfold(0, WINDOW, HOP)  # (F, WINDOW)
    window = _hann(WINDOW, padded.device)  # (WINDOW,)
    spectrum = torch.fft.rfft(frames * window, n=N_FFT)  # (F, N_FFT/2+1) complex
    power = spectrum.real.square() + spectrum.imag.square()  # (F, 257)
    mel = power @ _mel_filterbank(padded.device)  # (F, 80)
    return torch.log(torch.clamp(mel, min=LOG_FLOOR))


@lru_cache(maxsize=4)
def _hann(length: int, device: torch.device) -> torch.Tensor:
    return torch.hann_window(length, periodic=True, device=device)


@lru_cache(maxsize=4)
def _mel_filterbank(device: torch.device) -> torch.Tensor:
    """Triangular HTK-mel filters, area-normalised (Slaney style): (N_FFT/2+1, N_MELS)."""
    n_bins = N_FFT // 2 + 1
    fft_hz = torch.linspace(0.0, SAMPLE_RATE / 2, n_bins, dtype=torch.float64)  # (257,)

    def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
        return 2595.0 * torch.log10(1.0 + hz / 700.0)

    def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)

    mel_edges = torch.linspace(
        hz_to_mel(torch.tensor(F_MIN)).item(),
        hz_to_mel(torch.tensor(F_MAX)).item(),
        N_MELS + 2,
        dtype=torch.float64,
    )
    hz_edges = mel_to_hz(mel_edges)  # (82,)
    lower, centre, upper = hz_edges[:-2], hz_edges[1:-1], hz_edges[2:]  # (80,) each
    rising = (fft_hz[:, None] - lower) / (centre - lower)  # (257, 80)
    falling = (upper - fft_hz[:, None]) / (upper - centre)  # (257, 80)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    weights *= (2.0 / (upper - lower))[None, :]  # equal area per filter
    return weights.to(torch.float32).to(device)
