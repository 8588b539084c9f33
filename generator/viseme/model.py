"""The audio-to-viseme network: log-mel frames -> viseme class logits + 3 mouth channels.

A stack of causal dilated 1-D convolutions (WaveNet/TCN style) over 10 ms log-mel frames. It is
causal so streaming is exact and cheap; the bounded look-ahead (VisemeConfig.lookahead frames,
60 ms) comes from *reading the output late*: output t + lookahead is the prediction for frame
t, so each prediction sees 60 ms of future audio and no more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from generator.audio_features import N_MELS
from generator.viseme.phonemes import VISEMES

N_MOUTH = 3


@dataclass(frozen=True)
class VisemeConfig:
    n_mels: int = N_MELS  # input features per frame
    channels: int = 128  # width of every conv layer
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)  # one residual block per entry
    kernel_size: int = 3
    n_visemes: int = len(VISEMES)
    lookahead: int = 6  # frames of future audio each prediction sees (6 x 10 ms = 60 ms)

    @property
    def receptive_field(self) -> int:
        """Frames of input that influence one output (input conv + every block)."""
        return 1 + (self.kernel_size - 1) * (1 + sum(self.dilations))

    def to_dict(self) -> dict:
        return asdict(self)


class CausalConv(nn.Module):
    """Dilated causal 1-D convolution over (B, T, C), written as taps + one Linear.

    Output t sees inputs t - (k-1)*d, ..., t - d, t (zero before the start). Gathering the taps
    and doing a single matmul is ~10x faster on CPU than nn.Conv1d with dilation, which falls
    back to a slow path; the maths is the same.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.proj = nn.Linear(c_in * kernel_size, c_out)

    @property
    def history(self) -> int:
        """Past input frames each output needs besides the current one."""
        return (self.kernel_size - 1) * self.dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C')
        return self._taps(F.pad(x, (0, 0, self.history, 0)), x.shape[1])

    def step(self, x: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Streaming: new frames (B, t, C) after cached inputs `past` (B, history, C).

        Returns the t outputs and the cache for the next call; starting from a zero cache
        reproduces forward()'s zero padding exactly.
        """
        padded = torch.cat([past, x], dim=1)  # (B, history + t, C)
        return self._taps(padded, x.shape[1]), padded[:, padded.shape[1] - self.history :]

    def _taps(self, padded: torch.Tensor, T: int) -> torch.Tensor:
        taps = [
            padded[:, i * self.dilation : i * self.dilation + T] for i in range(self.kernel_size)
        ]  # kernel_size x (B, T, C)
        return self.proj(torch.cat(taps, dim=-1))  # (B, T, C')


class ResidualBlock(nn.Module):
    """Dilated causal conv -> GELU -> per-frame linear, added back to the input."""

    def __init__(self, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.conv = CausalConv(channels, channels, kernel_size, dilation)
        self.mix = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C)
        return x + self.mix(F.gelu(self.conv(x)))

    def step(self, x: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Streaming form of forward(); see CausalConv.step."""
        y, past = self.conv.step(x, past)
        return x + self.mix(F.gelu(y)), past


class VisemeNet(nn.Module):
    """Causal TCN: (B, T, n_mels) log-mel -> (B, T, n_visemes) logits, (B, T, 3) mouth in [0, 1].

    Output index t depends on input frames [t - receptive_field + 1, t]. Feature mean/std are
    buffers so the checkpoint carries its own input normalisation.
    """

    def __init__(self, config: VisemeConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.register_buffer("feature_mean", torch.zeros(config.n_mels))
        self.register_buffer("feature_std", torch.ones(config.n_mels))
        self.conv_in = CausalConv(config.n_mels, c, config.kernel_size)
        self.blocks = nn.ModuleList(
            ResidualBlock(c, config.kernel_size, d) for d in config.dilations
        )
        self.head = nn.Linear(c, config.n_visemes + N_MOUTH)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (features - self.feature_mean) / self.feature_std  # (B, T, n_mels)
        x = F.gelu(self.conv_in(x))  # (B, T, C)
        for block in self.blocks:
            x = block(x)  # (B, T, C)
        return self._split(self.head(x))

    def initial_state(self, batch: int = 1) -> list[torch.Tensor]:
        """Zero caches for step(): one (B, history, C) tensor per causal conv."""
        convs = [self.conv_in, *(block.conv for block in self.blocks)]
        device = self.feature_mean.device
        return [
            torch.zeros(
                batch, conv.history, conv.proj.in_features // conv.kernel_size, device=device
            )
            for conv in convs
        ]

    def step(
        self, features: torch.Tensor, state: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Streaming: (B, t, n_mels) new frames + state -> logits, mouth for them, new state.

        Feeding a sequence in any split through step() gives exactly forward()'s outputs, at
        the cost of the new frames only.
        """
        x = (features - self.feature_mean) / self.feature_std  # (B, t, n_mels)
        y, first = self.conv_in.step(x, state[0])
        x = F.gelu(y)  # (B, t, C)
        new_state = [first]
        for block, past in zip(self.blocks, state[1:], strict=True):
            x, past = block.step(x, past)  # (B, t, C)
            new_state.append(past)
        logits, mouth = self._split(self.head(x))
        return logits, mouth, new_state

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = out[..., : self.config.n_visemes]  # (B, T, n_visemes)
        mouth = torch.sigmoid(out[..., self.config.n_visemes :])  # (B, T, 3)
        return logits, mouth
