"""RivaGAN's encoder and decoder (Zhang et al. 2019), from invisible-watermark's bundled ONNX
files, run in torch; and the frames' conversion to and from the networks' input."""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from provenance.errors import MediaError, WatermarkError
from provenance.payload import DATA_WORDS, WORD_BITS

from .onnx_weights import onnx_float_initializers

EMBED_SIZE = 256  # px: RivaGAN's own resolution; measured robust there, 4x cheaper than 512
DECODE_STRIDE = 3  # measured: same per-frame accuracy as stride 1 after 2x CRF 23
MAX_SIDE = 8192
MIN_SIDE = 16


def bundled_model_path(name: str) -> str:
    """Where invisible-watermark's bundled model file `name` lives. Found, not imported: the
    package's own import pulls in its other algorithms' dependencies, which we do not use."""
    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        raise WatermarkError("invisible-watermark, which ships the RivaGAN model, is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], name)


class _RivaganWeights(torch.nn.Module):
    """One of RivaGAN's networks, its ONNX weights as buffers named like `attention_0_weight`.

    Its Conv3d kernels are (out, in, T=1, 11, 11): the video model on single frames, so they are
    kept as Conv2d kernels.
    """

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        super().__init__()
        for name, value in weights.items():
            tensor = torch.from_numpy(value)
            if tensor.ndim == 5:
                tensor = tensor[:, :, 0]
            self.register_buffer(name.strip("_").replace(".", "_"), tensor)

    def _p(self, name: str) -> torch.Tensor:
        return getattr(self, name)

    def _batch_norm(self, x: torch.Tensor, layer: str) -> torch.Tensor:
        p = self._p
        return F.batch_norm(
            x,
            p(f"{layer}_running_mean"),
            p(f"{layer}_running_var"),
            p(f"{layer}_weight"),
            p(f"{layer}_bias"),
        )

    def _attention(self, x: torch.Tensor, stride: int = 1) -> torch.Tensor:
        """The attention branch, softmaxed over its 32 channels: (B, 3, H, W) -> (B, 32, H/s, W/s).

        The encoder uses it; the decoder runs the same layers in place (`RivaganDecoder`)."""
        p = self._p
        a = torch.tanh(F.conv2d(x, p("attention_0_weight"), p("attention_0_bias"), padding=5))
        a = self._batch_norm(a, "attention_2")  # (B, 32, H, W)
        a = F.conv2d(a, p("attention_3_weight"), p("attention_3_bias"), padding=5, stride=stride)
        return torch.softmax(self._batch_norm(torch.tanh(a), "attention_5"), dim=1)


class RivaganEncoder(_RivaganWeights):
    """RivaGAN's encoder (Zhang et al. 2019), for several 32-bit words on one image at once.

    The attention map (32 channels) weights the words' bits, as +-1, into one data map m; a
    second branch Conv([image, m]: 4->32, 11x11) -> tanh -> BN -> Conv(32->3) -> tanh makes the
    residual, added at LINF_MAX. The attention depends only on the image and the first
    convolution is linear in its input, so the image's share of both is computed once and only
    m's part is per word. Measured at 256 px on 2 cores: three words 0.44 s, where the bundled
    model through onnxruntime costs 0.42 s per word; outputs agree to 1e-5.
    """

    LINF_MAX = 0.016  # RivaGAN's bound on the residual, in [-1, 1] pixel units

    def image_part(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What depends on the image only, x: (1, 3, H, W) in [-1, 1] -> the attention
        (1, 32, H, W) and the image channels' share of the first convolution (1, 32, H, W)."""
        p = self._p
        weight = p("conv_0_weight")  # (32, 4, 11, 11): image channels, then m
        return self._attention(x), F.conv2d(x, weight[:, :3], p("conv_0_bias"), padding=5)

    def forward(
        self,
        x: torch.Tensor,
        bits: torch.Tensor,
        image_part: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x: (1, 3, H, W) in [-1, 1]; bits: (B, 32) of 0/1 -> marked images (B, 3, H, W).
        `image_part`: `image_part(x)`, when the caller marks the same image again."""
        p = self._p
        attention, h = image_part if image_part is not None else self.image_part(x)
        signs = bits * 2.0 - 1.0  # (B, 32)
        height, width = attention.shape[2:]
        m = signs @ attention.reshape(WORD_BITS, height * width)  # (B, H*W): one matrix product
        m = m.reshape(-1, 1, height, width)  # (B, 1, H, W)
        weight = p("conv_0_weight")  # (32, 4, 11, 11): image channels, then m
        h = h + F.conv2d(m, weight[:, 3:], padding=5)  # (B, 32, H, W)
        h = self._batch_norm(torch.tanh(h), "conv_2")
        h = torch.tanh(F.conv2d(h, p("conv_3_weight"), p("conv_3_bias"), padding=5))  # (B, 3, H, W)
        return x + self.LINF_MAX * h


class RivaganDecoder(_RivaganWeights):
    """RivaGAN's decoder (Zhang et al. 2019): attention-weighted conv features, spatially averaged.

    Its conv branch is Conv(3->32, 11x11) -> tanh -> BN -> Conv(32->32, 11x11); the 32 outputs
    are the spatial mean of its product with the attention (logits, > 0 means bit 1). `stride`
    evaluates the second convolution of both branches on a coarser grid.
    """

    def __init__(self, weights: dict[str, np.ndarray], stride: int = 1) -> None:
        super().__init__(weights)
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 3, H, W) in [-1, 1]
        """Logits (B, 32). Each branch's full-size activations (B, 32, H, W), 8 MB a frame at
        256 px, are changed in place and dropped once strided, so one such tensor is alive at a
        time (the out-of-place layers cost ~3x the memory). A detection worker's peak over its
        resting memory is mostly this tensor, so callers hand frames over a few at a time
        (`frame_logits`, DECODE_BATCH)."""
        a, c = self._strided_features(x)  # (B, 32, H/s, W/s) each
        attention = torch.softmax(self._batch_norm(torch.tanh(a), "attention_5"), dim=1)
        return (c * attention).mean(dim=(2, 3))  # (B, 32) logits

    def _strided_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both branches up to their strided convolution, (b, 3, H, W) -> 2 x (b, 32, H/s, W/s)."""
        p = self._p
        a = self._full_size_features(x, "attention_0", "attention_2")  # (b, 32, H, W)
        a = F.conv2d(
            a, p("attention_3_weight"), p("attention_3_bias"), padding=5, stride=self.stride
        )
        c = self._full_size_features(x, "conv_0", "conv_2")  # (b, 32, H, W)
        c = F.conv2d(c, p("conv_3_weight"), p("conv_3_bias"), padding=5, stride=self.stride)
        return a, c

    def _full_size_features(self, x: torch.Tensor, conv: str, norm: str) -> torch.Tensor:
        """BN(tanh(Conv 11x11(x))), (B, 3, H, W) -> (B, 32, H, W), in one buffer: the same
        arithmetic as F.batch_norm's CPU kernel (x * alpha + beta), done in place."""
        p = self._p
        h = F.conv2d(x, p(f"{conv}_weight"), p(f"{conv}_bias"), padding=5).tanh_()
        alpha = p(f"{norm}_weight") * torch.rsqrt(p(f"{norm}_running_var") + 1e-5)  # (32,)
        beta = p(f"{norm}_bias") - p(f"{norm}_running_mean") * alpha  # (32,)
        return h.mul_(alpha[:, None, None]).add_(beta[:, None, None])


@functools.cache
def encoder() -> RivaganEncoder:
    """The encoder, loaded once per process."""
    return RivaganEncoder(
        onnx_float_initializers(bundled_model_path("rivagan_encoder.onnx"))
    ).eval()


@functools.cache
def decoder() -> RivaganDecoder:
    """The decoder, loaded once per process, its second convolutions on a DECODE_STRIDE grid."""
    weights = onnx_float_initializers(bundled_model_path("rivagan_decoder.onnx"))
    return RivaganDecoder(weights, stride=DECODE_STRIDE).eval()


def load_models() -> None:
    """Load RivaGAN's encoder and decoder and run each once (a first call also picks the
    convolution kernels): a worker does it at start, so no job or check pays for it."""
    blank = torch.zeros(1, 3, EMBED_SIZE, EMBED_SIZE)
    with torch.inference_mode():
        encoder()(blank, torch.zeros(DATA_WORDS, WORD_BITS))
        decoder()(blank)


def as_rgb(frame: np.ndarray) -> np.ndarray:
    """Validate one frame: HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA) uint8 -> HxWx3 uint8."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise MediaError("a frame must be a uint8 numpy array")
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise MediaError("a frame must be HxWx3 RGB (or grey, or RGBA)")
    height, width = frame.shape[:2]
    if min(height, width) < MIN_SIDE or max(height, width) > MAX_SIDE:
        raise MediaError(f"frame sides must be in [{MIN_SIDE}, {MAX_SIDE}] px")
    return np.ascontiguousarray(frame[:, :, :3])


def to_model_input(images: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [-1, 1]."""
    return images.astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    height, width = image.shape[:2]
    shrink = height >= size and width >= size
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interpolation)


# Frames resized and handed to the decoder at once: their full-size activation (8 MB a frame)
# is most of a detection worker's peak over its resting memory. Measured on 48 frames, 2
# threads, big buffers returned when freed (`detection/heap.py`), quiet machine: 8 at a time
# peak 88 MB over resting, CPU 3.24-3.31 s; 4: 45 MB, 3.31-3.88 s; 2: 23 MB, 3.46-3.85 s.
DECODE_BATCH = 4


def frame_logits(
    frames: Sequence[np.ndarray], edit: Callable[[np.ndarray], np.ndarray] | None = None
) -> np.ndarray:
    """RivaGAN decoder logits of each frame, (N, 32) float32 (> 0 means bit 1).

    `edit` (a reading: mirrored, zoomed out, ...) is applied to each frame just before it is
    resized, a batch at a time, so the edited full-size copies never all exist at once (48
    zoomed-out 512-px frames are ~95 MB)."""
    if len(frames) == 0:
        return np.zeros((0, WORD_BITS), np.float32)
    out = np.empty((len(frames), WORD_BITS), np.float32)
    for start in range(0, len(frames), DECODE_BATCH):
        chunk = frames[start : start + DECODE_BATCH]
        if edit is not None:
            chunk = [edit(f) for f in chunk]
        small = np.stack([resize_square(as_rgb(f), EMBED_SIZE) for f in chunk])  # (B, 256, 256, 3)
        with torch.inference_mode():
            out[start : start + len(chunk)] = decoder()(torch.from_numpy(to_model_input(small)))
    return out  # (N, 32)
