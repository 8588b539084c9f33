"""log_mel: (N,) 16 kHz -> (ceil(N/160), 80), causal frames that streaming can reproduce."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from generator.audio import load_audio
from generator.audio_features import HOP, N_MELS, WINDOW, log_mel, log_mel_unpadded


def test_it_returns_one_80_band_row_per_10_ms(speech_wav: Path) -> None:
    samples = torch.from_numpy(load_audio(speech_wav).samples)
    features = log_mel(samples)
    assert features.shape == (math.ceil(len(samples) / HOP), N_MELS)
    assert features.dtype == torch.float32
    assert torch.isfinite(features).all()


def test_silence_maps_to_the_log_floor() -> None:
    features = log_mel(torch.zeros(16_000))
    assert torch.allclose(features, torch.full_like(features, math.log(1e-5)))


def test_a_tone_lights_up_the_band_holding_its_frequency() -> None:
    t = torch.arange(16_000) / 16_000
    low = log_mel(0.3 * torch.sin(2 * math.pi * 300 * t))[20:].mean(0)
    high = log_mel(0.3 * torch.sin(2 * math.pi * 3000 * t))[20:].mean(0)
    assert low.argmax() < high.argmax()


def test_frames_are_causal_so_chunked_computation_matches(speech_wav: Path) -> None:
    samples = torch.from_numpy(load_audio(speech_wav).samples)[: 160 * 300]
    whole = log_mel(samples)
    context = torch.zeros(WINDOW - HOP)
    parts = []
    for start in range(0, len(samples), 160 * 7):  # 70 ms pieces
        buffer = torch.cat([context, samples[start : start + 160 * 7]])
        parts.append(log_mel_unpadded(buffer))
        context = buffer[-(WINDOW - HOP) :]
    np.testing.assert_allclose(torch.cat(parts).numpy(), whole.numpy(), atol=1e-4)
