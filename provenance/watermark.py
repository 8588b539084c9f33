"""Invisible, robust watermark in every frame: RivaGAN (invisible-watermark's bundled model).

Design (measurements in issue 4 and in provenance.bench):
- RivaGAN runs at EMBED_SIZE = 256 px; the residual it adds is upsampled to the frame and scaled
  by STRENGTH. It costs ~300 ms, far too much per frame, so it runs ONCE per payload on the
  source appearance (`mark_appearance`, every word in one pass); the generator warps
  the marked appearance for every frame, so the mark moves with the face at no extra cost.
- Antipodal pairs: data word j rides in two appearances, the portrait PLUS its residual and the
  portrait MINUS the same residual. The decoder's response to the picture itself (content bias,
  measured: the same wrong bits in every frame, which no averaging removes) is common to both,
  and the residual's effect on the logits changes sign, so the difference of the two groups'
  mean soft bits keeps only the mark. The minus appearance reads as the word's complement, so
  the payload's WORD_COUNT = 6 frame words are (w0, ~w0, w1, ~w1, w2, ~w2): three residuals.
- Frames go in runs, run r rendered from word r % WORD_COUNT's appearance. The first WORD_COUNT runs
  are SHORT_RUN_FRAMES = 6 long, so a 1.4-s clip (the shortest speech a job renders) carries
  every word; later runs are RUN_FRAMES = 12 long, because H.264 predicts a run's frames from
  the previous run's and needs a few frames to replace one mark with the next (measured, 200
  frames, publish then CRF 30, middle frames: per-frame bit accuracy 0.64 with runs of 6, 0.71
  with runs of 12; the pair-differenced bits 11 wrong of 96 against 5). Each word's pair sits
  side by side in time, so the head pose, and with it the bias, barely changes between the two
  halves that cancel.
- Bit orders: each cycle of the six runs embeds the words with their bits in another of
  BIT_ORDERS = 4 orders (`bit_orders`). The bits a re-encode or downscale defeats are the same
  in every frame of a portrait, so averaging frames cannot fix them; four orders spread each
  weak position over four bits (measured wrong bits in `bit_orders`). It costs three more
  residuals per order (~0.1 s each) and nothing in detection.
- Detection decodes the middle frames of DETECT_SAMPLES consecutive runs (of a re-timed copy, the
  frames showing the same moments: `sample_positions(count, fps)`), puts each sample's bits back
  in word order, differences each word's two sides, and tries the GROUPINGS = 24 phases of the
  known schedule; BCH (Chase-II) corrects what is left and it identifies only when the
  false-positive bound over all 2**32 x 24 hypotheses is <= 1e-9, split between the looks it may
  take (one frame per word, then the DETECT_SAMPLES, then more frames). The bound is
  soft-decision (`soft_false_positive`: each bit's agreement weighted by its reliability, exact
  tail): with equal weights at most 5 of 96 bits may be wrong, and more when the wrong ones are
  the weak ones, as after a re-encode they mostly are.
- A detector that knows the registered payloads (the platform's registry) compares the same
  groupings with each known codeword (`best_known_payload`): R x 24 hypotheses, not 2**32 x 24.
- Both networks are the model's own (weights read from its ONNX files) run in torch. The encoder
  shares the image's part of its work between words (`RivaganEncoder`); the decoder evaluates the
  second convolution of each branch on a stride-3 grid: the output is a spatial mean of a
  local feature, so a ninth of the positions estimates it as well (measured) at 3.6x less cost.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from provenance.errors import MediaError, WatermarkError
from provenance.payload import (
    BCH_T,
    CODEWORD_BITS,
    DATA_WORDS,
    RECORD_ID_BITS,
    WORD_BITS,
    WORD_COUNT,
    WatermarkPayload,
    codeword_bits,
    decode_codeword,
    payload_for_record,
    word_bits,
)

WATERMARK_ALGORITHM = "rivagan-256-appearance-antipodal-bch-v3"
EMBED_SIZE = 256  # px: RivaGAN's own resolution; measured robust there, 4x cheaper than 512
STRENGTH = 1.7  # residual gain, rounded by dithering (`_add_residual`): rendered PSNR ~39 dB
RUN_FRAMES = 12  # frames per run of one word, after the first WORD_COUNT short runs
SHORT_RUN_FRAMES = 6  # the first cycle: all 6 words within 36 frames (1.44 s)
BIT_ORDERS = 4  # cycles of the 6 runs take turns among 4 orders of each word's bits
SCHEDULE_FPS = 25.0  # the rate outputs are published at: a re-timed copy is mapped back to it
DETECT_SAMPLES = 16  # middle frames of 16 consecutive runs (2.7 cycles of the 6 words)
SECOND_LOOK_SAMPLES = 32  # more middle frames when the first look does not identify
EARLY_FRAMES = 6  # the first look: one frame per payload word
EARLY_LOOK_SHARE = 0.02  # of the 1e-9 budget, for that look (see detect_watermark)
DECODE_STRIDE = 3  # measured: same per-frame accuracy as stride 1 after 2x CRF 23
MAX_FALSE_POSITIVE = 1e-9
# Chase-II flips every subset of the 8 least reliable bits: 256 BCH decodes per grouping, 24
# groupings, ~0.2 s a look that does not identify. With 4 bits, half-size copies whose bound
# passed at 7 wrong bits were missed: BCH alone corrects 4 (measured on bench clips).
CHASE_BITS = 8
SOFT_LEVELS = 8  # reliability levels of soft_false_positive's weights
MAX_SIDE = 8192
MIN_SIDE = 16


def _model_path(name: str) -> str:
    """Where invisible-watermark's bundled model file `name` lives. Found, not imported: the
    package's own import pulls in its other algorithms' dependencies, which we do not use."""
    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        raise WatermarkError("invisible-watermark, which ships the RivaGAN model, is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], name)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes):
    """Yield (field number, wire type, value) of one protobuf message (enough for ONNX tensors)."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise WatermarkError("the RivaGAN model file is not a readable ONNX model")
        yield field, wire, value


def _onnx_float_initializers(path: str) -> dict[str, np.ndarray]:
    """Float weights of an ONNX model (ModelProto.graph=7, GraphProto.initializer=5).

    A few lines of protobuf reading instead of a dependency on the `onnx` package: TensorProto
    dims=1, data_type=2 (1 = float), float_data=4, name=8, raw_data=9.
    """
    with open(path, "rb") as handle:
        model = handle.read()
    weights: dict[str, np.ndarray] = {}
    for field, _, graph in _fields(model):
        if field != 7:
            continue
        for gfield, _, tensor in _fields(graph):
            if gfield != 5:
                continue
            dims, name, raw, floats, dtype = [], "", b"", b"", 1
            for tfield, wire, value in _fields(tensor):
                if tfield == 1 and wire == 0:
                    dims.append(value)
                elif tfield == 1 and wire == 2:
                    pos = 0
                    while pos < len(value):
                        dim, pos = _read_varint(value, pos)
                        dims.append(dim)
                elif tfield == 2:
                    dtype = value
                elif tfield == 4 and wire == 2:
                    floats += value
                elif tfield == 8:
                    name = value.decode()
                elif tfield == 9:
                    raw = value
            if dtype == 1:
                data = np.frombuffer(raw or floats, dtype="<f4").copy()
                weights[name] = data.reshape(dims)
    return weights


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

        The encoder and the decoder share it (RivaGAN's decoder reuses the encoder's layers)."""
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
        p = self._p
        attention = self._attention(x, self.stride)  # (B, 32, H/s, W/s)
        c = torch.tanh(F.conv2d(x, p("conv_0_weight"), p("conv_0_bias"), padding=5))
        c = self._batch_norm(c, "conv_2")  # (B, 32, H, W)
        c = F.conv2d(c, p("conv_3_weight"), p("conv_3_bias"), padding=5, stride=self.stride)
        return (c * attention).mean(dim=(2, 3))  # (B, 32) logits


@functools.cache
def _encoder() -> RivaganEncoder:
    return RivaganEncoder(_onnx_float_initializers(_model_path("rivagan_encoder.onnx"))).eval()


@functools.cache
def _decoder() -> RivaganDecoder:
    weights = _onnx_float_initializers(_model_path("rivagan_decoder.onnx"))
    return RivaganDecoder(weights, stride=DECODE_STRIDE).eval()


def load_models() -> None:
    """Load RivaGAN's encoder and decoder and run each once (a first call also picks the
    convolution kernels): a worker does it at start, so no job or check pays for it."""
    blank = torch.zeros(1, 3, EMBED_SIZE, EMBED_SIZE)
    with torch.inference_mode():
        _encoder()(blank, torch.zeros(DATA_WORDS, WORD_BITS))
        _decoder()(blank)


def _as_rgb(frame: np.ndarray) -> np.ndarray:
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


def _to_model(images: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [-1, 1]."""
    return images.astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    height, width = image.shape[:2]
    shrink = height >= size and width >= size
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interpolation)


class _ResidualMaker:
    """RivaGAN residuals for one image, word batch by word batch: the image's part of the
    encoder is computed once, here, and kept for every batch."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = _as_rgb(image)
        self.small = _resize(self.image, EMBED_SIZE)  # (256, 256, 3)
        self.x = torch.from_numpy(_to_model(self.small[None]))  # (1, 3, 256, 256)
        with torch.inference_mode():
            self.image_part = _encoder().image_part(self.x)  # 2 x (1, 32, 256, 256)

    def __call__(self, words: Sequence[int]) -> list[np.ndarray]:
        """The residual of each 32-bit word, upsampled to the image: B x (H, W, 3) float32."""
        bits = np.stack([word_bits(word) for word in words]).astype(np.float32)  # (B, 32)
        with torch.inference_mode():
            marked = _encoder()(self.x, torch.from_numpy(bits), self.image_part)
        marked = np.clip(marked.numpy().transpose(0, 2, 3, 1), -1.0, 1.0)  # (B, 256, 256, 3)
        residuals = (marked + 1.0) * 127.5 - self.small.astype(np.float32)  # (B, 256, 256, 3)
        height, width = self.image.shape[:2]
        return [cv2.resize(r, (width, height), interpolation=cv2.INTER_LINEAR) for r in residuals]


def embed_residuals(image: np.ndarray, words: Sequence[int]) -> list[np.ndarray]:
    """RivaGAN's residual for each 32-bit word, made at EMBED_SIZE and upsampled to the image.

    One encoder pass for all the words: B x (H, W, 3) float32."""
    return _ResidualMaker(image)(words)


def embed_residual(image: np.ndarray, word: int) -> np.ndarray:
    """RivaGAN's residual for one 32-bit word, upsampled to the image, (H, W, 3) float32."""
    return embed_residuals(image, [word])[0]


@functools.lru_cache(maxsize=4)
def _dither(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed uniform [0, 1) pattern of `shape`, float32: the same in every run and process."""
    pattern = np.random.default_rng(0x5EED).random(shape, dtype=np.float32)
    pattern.setflags(write=False)
    return pattern


def _add_residual(image: np.ndarray, residual: np.ndarray, sign: float) -> np.ndarray:
    """image + sign x STRENGTH x residual, rounded to uint8 by dithering (floor(v + u), u uniform).

    Why not plain rounding: about 70% of RivaGAN's residual sits at its bound, 2.04 levels, so
    x 1.7 it rounds to 3 levels nearly everywhere, and from x 1.72 to 4: the mark's amplitude,
    and the PSNR, move in steps of a third. Dithered rounding is unbiased (the mean added is
    exactly STRENGTH x residual: 3.47 levels), so the PSNR spent buys amplitude in proportion
    (measured, bench clips: rendered PSNR 40.1-40.3 -> 39.0-39.1 dB; after a half-size copy
    12 and 9 wrong bits of 96 -> 5 and 3).
    """
    dither = _dither(image.shape)
    return np.clip(np.floor(image + sign * STRENGTH * residual + dither), 0, 255).astype(np.uint8)


def embed_word(image: np.ndarray, word: int) -> np.ndarray:
    """Mark one image with a 32-bit word: RivaGAN at EMBED_SIZE, residual upsampled, x STRENGTH."""
    return _add_residual(_as_rgb(image), embed_residual(image, word), 1.0)


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


def _in_word_order(soft: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Soft bits (n, 32) of samples from runs `runs` (n,), each put back into the word's own bit
    order (undoing its run's bit order)."""
    ordered = np.empty_like(soft)
    for t, run in enumerate(runs.tolist()):
        ordered[t, bit_orders()[bit_order_of_run(run)]] = soft[t]
    return ordered


def _run_middles(count: int) -> list[int]:
    """Middle frames of every run that has one among `count` frames."""
    middles = []
    while run_middle(len(middles)) < count:
        middles.append(run_middle(len(middles)))
    return middles


def _check_payload_words(payload: WatermarkPayload) -> None:
    words = payload.words
    if len(words) != WORD_COUNT or any(
        words[2 * j + 1] != words[2 * j] ^ 0xFFFFFFFF for j in range(DATA_WORDS)
    ):
        raise WatermarkError(f"a payload carries {DATA_WORDS} words, each with its complement")


def appearance_for_frame(index: int) -> int:
    """Which of the BIT_ORDERS x WORD_COUNT marked appearances frame `index` is rendered from."""
    run = run_of(index)
    return bit_order_of_run(run) * WORD_COUNT + run % WORD_COUNT


class MarkedAppearance:
    """The source appearance marked for each payload word in each bit order; the renderer warps
    `for_frame(i)`.

    Bit order 0 is ready when `mark_appearance` returns; the others are made in a background
    thread while the first cycle of frames renders (the renderer and the H.264 encoder leave
    part of the two cores idle) and `for_frame` waits for an order only if it is not done yet.
    """

    def __init__(
        self, payload: WatermarkPayload, orders: Sequence[Future[tuple[np.ndarray, ...]]]
    ) -> None:
        self.payload = payload
        self._orders = tuple(orders)  # BIT_ORDERS futures of WORD_COUNT x (H, W, 3) uint8

    @property
    def appearances(self) -> tuple[np.ndarray, ...]:
        """Every marked appearance, BIT_ORDERS x WORD_COUNT, as `appearance_for_frame` numbers
        them (waits for the background orders)."""
        return tuple(a for order in self._orders for a in order.result())

    def for_frame(self, index: int) -> np.ndarray:
        """The marked appearance to render frame `index` from, (H, W, 3) uint8 RGB."""
        order, word = divmod(appearance_for_frame(index), WORD_COUNT)
        return self._orders[order].result()[word]


def _appearances_in_order(
    make: _ResidualMaker, payload: WatermarkPayload, order: int
) -> tuple[np.ndarray, ...]:
    """The WORD_COUNT appearances of one bit order: plus and minus each data word's residual."""
    appearances = []
    for residual in make([ordered_word(w, order) for w in payload.words[0::2]]):
        for sign in (1.0, -1.0):
            marked = _add_residual(make.image, residual, sign)
            marked.setflags(write=False)  # shared by every frame of its runs
            appearances.append(marked)
    return tuple(appearances)


def mark_appearance(aligned: np.ndarray, payload: WatermarkPayload) -> MarkedAppearance:
    """Mark the aligned source appearance (512x512 RGB): plus and minus each data word's residual,
    in each bit order; the minus side decodes as the complement word (in the same order).

    Bit order 0, which the first WORD_COUNT runs (36 frames) need, is made now; the other orders
    in a background thread (measured: 0.1 s per word, 0.9 s for the nine, which the render loop
    would otherwise wait for).
    """
    _check_payload_words(payload)
    make = _ResidualMaker(aligned)
    first: Future[tuple[np.ndarray, ...]] = Future()
    first.set_result(_appearances_in_order(make, payload, 0))
    background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mark-appearance")
    later = [
        background.submit(_appearances_in_order, make, payload, order)
        for order in range(1, BIT_ORDERS)
    ]
    background.shutdown(wait=False)  # the thread ends after the last order
    return MarkedAppearance(payload, [first, *later])


def mark_frame(frame: np.ndarray, payload: WatermarkPayload, index: int) -> np.ndarray:
    """Mark one frame directly with the word its index carries (~300 ms: a fallback only)."""
    _check_payload_words(payload)
    run = run_of(index)
    word = run % WORD_COUNT
    sign = 1.0 if word % 2 == 0 else -1.0
    embedded = ordered_word(payload.words[word - word % 2], bit_order_of_run(run))
    frame = _as_rgb(frame)
    return _add_residual(frame, embed_residual(frame, embedded), sign)


@dataclass(frozen=True)
class WatermarkDetection:
    """What the frames say. `identified` only when the false-positive bound is <= 1e-9."""

    identified: bool
    record_id: int | None
    value_hex: str | None
    confidence: float  # fraction of the 96 codeword bits that agree with the decoded codeword
    false_positive_probability: float  # union bound over every hypothesis (binomial tail)
    frames_used: int


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
    middles = _run_middles(total)
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


def frame_logits(frames: Sequence[np.ndarray]) -> np.ndarray:
    """RivaGAN decoder logits of each frame, (N, 32) float32 (> 0 means bit 1)."""
    if len(frames) == 0:
        return np.zeros((0, WORD_BITS), np.float32)
    small = np.stack([_resize(_as_rgb(f), EMBED_SIZE) for f in frames])  # (N, 256, 256, 3)
    with torch.inference_mode():
        logits = _decoder()(torch.from_numpy(_to_model(small)))  # (N, 32)
    return logits.numpy()


def binomial_false_positive(agreeing: int, total: int, candidates: int) -> float:
    """P(some of `candidates` random codewords agrees on >= `agreeing` of `total` fair bits)."""
    tail = sum(math.comb(total, i) for i in range(agreeing, total + 1))
    return min(1.0, candidates * tail / 2**total)


def _weighted_tail(weights: np.ndarray, score: int) -> float:
    """P(sum_i c_i w_i >= score) for fair, independent c_i = +-1 and integer weights w_i: the
    exact distribution, built one weight at a time (96 x <= 2 * 96 * SOFT_LEVELS sums)."""
    total = int(weights.sum())
    distribution = np.zeros(2 * total + 1)  # index = sum + total
    distribution[total] = 1.0
    for weight in weights.tolist():
        shifted = np.zeros_like(distribution)
        shifted[weight:] += 0.5 * distribution[: len(distribution) - weight]
        shifted[: len(distribution) - weight] += 0.5 * distribution[weight:]
        distribution = shifted
    return float(distribution[max(0, score + total) :].sum())


def soft_false_positive(estimate: np.ndarray, codeword: np.ndarray, candidates: int) -> float:
    """P(some of `candidates` random codewords agrees with the soft estimate this well).

    Soft-decision: each bit's agreement counts with its reliability, |estimate| quantised to
    1..SOFT_LEVELS, and the tail is exact under the same model as `binomial_false_positive`
    (an unrelated codeword's bits are fair coins, independent of the frames, so the weights are
    fixed given the frames). With equal weights it IS the binomial bound. Measured on 4-s clips
    halved or re-encoded at CRF 30: 10-1000x smaller bounds than counting bits, because the
    bits a re-encode flips are mostly the ones the decoder was least sure of.
    estimate: (96,) soft bits, > 0 means 1; codeword: (96,) of 0/1.
    """
    magnitude = np.abs(estimate)  # (96,)
    weights = np.ceil(magnitude / (magnitude.max() + 1e-12) * SOFT_LEVELS).astype(np.int64)
    weights = np.maximum(weights, 1)
    signs = np.where((estimate > 0) == (np.asarray(codeword) > 0), 1, -1)  # (96,)
    return min(1.0, candidates * _weighted_tail(weights, int(weights @ signs)))


# Every valid record id, times the groupings tried: the schedule at each of its phases (a run
# number offset, in case a copy lost whole runs at its start), which also name the bit orders.
GROUPINGS = WORD_COUNT * BIT_ORDERS  # 24
BLIND_HYPOTHESES = 2**RECORD_ID_BITS * GROUPINGS


def _soft_bits(logits: np.ndarray) -> np.ndarray:
    """Soft bits in [-3, 3], scaled per frame so one loud frame cannot outvote the others."""
    scale = np.median(np.abs(logits), axis=1, keepdims=True) + 1e-6  # (N, 1)
    return np.clip(logits / scale, -3.0, 3.0)  # (N, 32)


def holds_every_word(runs: np.ndarray) -> bool:
    """Whether samples from runs `runs` (n,) include every one of the WORD_COUNT words. Shifting
    every run by one phase permutes the words, so the answer is the same under every phase."""
    return len(set((np.asarray(runs) % WORD_COUNT).tolist())) == WORD_COUNT


def _pair_estimate(soft: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Bias-free soft estimate of the 96 codeword bits from samples of runs `runs`, (96,).

    Each sample's bits are put back into word order; per data word, the mean over the runs
    carrying it minus the mean over the runs carrying its complement, so the content bias
    cancels. Every word must be among the runs.
    """
    ordered = _in_word_order(soft, runs)  # (n, 32)
    words = runs % WORD_COUNT  # (n,)
    return np.concatenate(
        [
            ordered[words == 2 * j].mean(axis=0) - ordered[words == 2 * j + 1].mean(axis=0)
            for j in range(DATA_WORDS)
        ]
    )


def _chase_decode(observed: np.ndarray, reliability: np.ndarray, key: bytes):
    """Chase-II: BCH-decode the observation with every flip pattern of its CHASE_BITS least
    reliable bits; keep the record whose codeword agrees most with the observation itself.

    The false-positive bound is a union over every valid codeword measured against the
    unflipped observation, so searching more patterns does not weaken it.
    """
    flips = np.zeros((2**CHASE_BITS, len(observed)), np.uint8)  # (P, 96): every flip pattern
    flips[:, np.argsort(reliability)[:CHASE_BITS]] = _flip_patterns()  # (P, CHASE_BITS)
    best = None
    for trial in observed[None, :] ^ flips:  # (96,) each
        decoded = decode_codeword(trial, key)
        if decoded is None:
            continue
        agreeing = int(np.sum(codeword_bits(int(decoded.value_hex, 16), key) == observed))
        if best is None or agreeing > best.agreeing_bits:
            best = dataclasses.replace(decoded, agreeing_bits=agreeing)
        if agreeing >= CODEWORD_BITS - BCH_T:
            break  # no other codeword comes as close: they are >= 2 * BCH_T + 1 bits apart
    return best


@functools.cache
def _flip_patterns() -> np.ndarray:
    """Every subset of CHASE_BITS positions as 0/1 rows, (2**CHASE_BITS, CHASE_BITS) uint8."""
    patterns = np.arange(2**CHASE_BITS)[:, None] >> np.arange(CHASE_BITS)[None, :] & 1
    return patterns.astype(np.uint8)


def _groupings(soft: np.ndarray, runs: np.ndarray):
    """Every bias-free 96-bit soft estimate the detector tries (up to GROUPINGS of them), (96,).

    Samples are middle frames of runs `runs` (run numbers, (n,)) in any copy that keeps the
    frame timing or is mapped back to it (`run_at`), so sample t comes from run phase + runs[t]
    for one of GROUPINGS phases: phase 0 for an intact timeline, another for a copy whose start
    was cut by whole runs. Nothing when some word has no sample (`holds_every_word`).

    (Version 2 also clustered the samples to group a re-timed copy's frames blind. With four bit
    orders a word points four ways, so clustering would have to find twelve axes and try every
    naming of them, more hypotheses than the bound can pay for; a copy carries its frame rate,
    and mapping it back by time groups its frames exactly.)
    """
    if not holds_every_word(runs):
        return
    for phase in range(GROUPINGS):
        yield _pair_estimate(soft, phase + runs)


@dataclass(frozen=True)
class KnownPayloadMatch:
    """The known codeword the frames carry best: its row, its single-hypothesis soft tail (the
    caller multiplies it by the hypotheses it tried) and its hard bit agreement."""

    row: int
    tail: float
    agreeing_bits: int


def best_known_payload(
    logits: np.ndarray, codewords: np.ndarray, runs: np.ndarray | None = None
) -> KnownPayloadMatch:
    """Which of R known codewords the sampled frames carry best.

    The frames are grouped exactly as blind detection groups them (`_groupings`: the schedule's
    phases); each grouping's reliability-weighted bits are scored against
    every codeword, (G, 96) x (R, 96) in one matrix product, and each grouping's best is judged
    by `soft_false_positive`. A registry of R outputs is R x GROUPINGS hypotheses instead of the
    blind decoder's 2**32 x GROUPINGS, so a mark too faint to decode blind (after CRF 30 or a
    half-size copy) still identifies its record at the same bound.
    logits: (n, 32) of n >= WORD_COUNT samples in time order; codewords: (R, 96) of 0/1.
    Raises WatermarkError when the samples do not hold every word (`holds_every_word`).
    """
    if len(logits) < WORD_COUNT or len(codewords) == 0:
        raise WatermarkError(f"need {WORD_COUNT} sampled frames and at least one codeword")
    runs = np.arange(len(logits)) if runs is None else np.asarray(runs)
    if not holds_every_word(runs):
        raise WatermarkError(f"the sampled frames do not hold all {WORD_COUNT} payload words")
    estimates = np.stack(list(_groupings(_soft_bits(logits), runs)))  # (G, 96)
    known = np.where(np.asarray(codewords) > 0, 1.0, -1.0).astype(np.float32)  # (R, 96)
    scores = estimates @ known.T  # (G, R): reliability-weighted agreement
    best = None
    for g, row in enumerate(np.argmax(scores, axis=1).tolist()):
        tail = soft_false_positive(estimates[g], codewords[row], 1)
        if best is None or tail < best.tail:
            agreeing = int(np.sum((estimates[g] > 0) == (codewords[row] > 0)))
            best = KnownPayloadMatch(row=row, tail=tail, agreeing_bits=agreeing)
    return best


def second_look_positions(count: int, fps: float | None = SCHEDULE_FPS) -> list[int]:
    """Up to SECOND_LOOK_SAMPLES more settled frames for a second look: the other runs' middles,
    then frames a quarter-run either side of the long runs' middles (of every run's, in a clip
    too short for DETECT_SAMPLES runs, whose first look already took some of them); for a copy
    at another `fps`, the frames showing those moments."""
    total = _schedule_count(count, fps)
    taken = set(sample_positions(count, fps))
    first = {schedule_index(i, fps) for i in taken}
    middles = _run_middles(total)
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


def decode_looks(
    frames: Sequence[np.ndarray], looks: Sequence[list[int]]
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Each look with its frames' decoder logits, (k, 32): a frame is decoded once, when the
    first look that needs it comes, so a caller that stops early never decodes the rest."""
    logits = np.zeros((len(frames), WORD_BITS), np.float32)  # (n, 32), filled as read
    decoded: set[int] = set()
    for look in looks:
        fresh = [i for i in look if i not in decoded]
        logits[fresh] = frame_logits([frames[i] for i in fresh])  # (k, 32)
        decoded.update(fresh)
        yield look, logits[look]


def detect_watermark(
    frames: Sequence[np.ndarray],
    key: bytes,
    fps: float | None = SCHEDULE_FPS,
    max_looks: int | None = None,
) -> WatermarkDetection:
    """Read the payload from frames of any size; identify only at false-positive <= 1e-9.

    `fps`: the rate the frames play at; a copy re-timed from the output's SCHEDULE_FPS is read
    at the frames showing the schedule's moments (`sample_positions`).
    Up to three looks at growing sets of frames (`detection_looks`), each decoded only when the
    last did not identify: one middle frame per word (an intact output is read from these six
    alone), the DETECT_SAMPLES middle frames (a lightly altered copy), then every other settled
    frame as well (averaging 2-3x more frames is what a heavily re-encoded, resized or cropped
    copy needs). The procedure can identify at any look, so the 1e-9 is split between them
    (union bound): EARLY_LOOK_SHARE to the first, whose intact clips clear it by orders of
    magnitude (measured bounds ~1e-17), and the rest evenly to the looks a faint mark needs.
    `max_looks`: stop after this many looks (for a caller that must stay cheap and needs only to
    recognise an intact or lightly altered output); each look keeps its share of the budget, so
    stopping early can only lower the chance of identifying and the bound still holds.
    """
    positions = sample_positions(len(frames), fps)
    wanted = positions + second_look_positions(len(frames), fps)
    runs = np.array([run_at(i, fps) for i in wanted], dtype=np.int64)  # (n + m,)
    looks = detection_looks(runs, np.array(wanted), len(positions))
    if len(positions) > EARLY_FRAMES:  # the first look is the one-frame-per-word one
        later = len(looks) - 1
        shares = [EARLY_LOOK_SHARE] + [(1.0 - EARLY_LOOK_SHARE) / later] * later
    else:
        shares = [1.0 / len(looks)] * len(looks)
    detection = WatermarkDetection(False, None, None, 0.0, 1.0, 0)
    sampled = [frames[i] for i in wanted]
    looks, shares = looks[:max_looks], shares[:max_looks]
    for (look, logits), share in zip(decode_looks(sampled, looks), shares, strict=True):
        detection = detect_from_logits(logits, key, share=share, runs=runs[look])
        if detection.identified:
            break
    return detection


def detect_from_logits(
    logits: np.ndarray, key: bytes, share: float = 1.0, runs: np.ndarray | None = None
) -> WatermarkDetection:
    """The decision part of `detect_watermark`, from decoder logits (n, 32) of sampled frames
    in time order. `runs`: each sample's run number (default: consecutive runs, as
    `sample_positions` gives). `share`: the fraction of the 1e-9 budget this decision may spend,
    when the caller's procedure takes several that may each identify (union bound); the
    reported false-positive probability is the bound divided by it, so identification stays
    "at most 1e-9"."""
    nothing = WatermarkDetection(False, None, None, 0.0, 1.0, len(logits))
    if len(logits) < WORD_COUNT:
        return nothing  # fewer samples than words: 64 bits cannot be read from one word
    soft = _soft_bits(logits)  # (n, 32)
    runs = np.arange(len(logits)) if runs is None else np.asarray(runs)
    best, fp = None, 1.0
    for estimate in _groupings(soft, runs):  # (96,) each
        decoded = _chase_decode((estimate > 0).astype(np.uint8), np.abs(estimate), key)
        if decoded is None:
            continue
        codeword = codeword_bits(int(decoded.value_hex, 16), key)  # (96,)
        bound = soft_false_positive(estimate, codeword, BLIND_HYPOTHESES) / share
        if best is None or bound < fp:
            best, fp = decoded, bound
        if fp <= MAX_FALSE_POSITIVE:
            break  # identified: the bound already counts every grouping, tried or not
    if best is None:
        return nothing
    identified = fp <= MAX_FALSE_POSITIVE
    return WatermarkDetection(
        identified=identified,
        record_id=best.record_id if identified else None,
        value_hex=best.value_hex if identified else None,
        confidence=best.agreeing_bits / CODEWORD_BITS,
        false_positive_probability=fp,
        frames_used=len(logits),
    )


def frames_carry_payload(
    frames: Sequence[np.ndarray],
    payload: WatermarkPayload,
    key: bytes,
    indices: Sequence[int] | None = None,
) -> bool:
    """True when the frames carry this payload (publish's check before it signs).

    With `indices` (each frame's index in its output, as publish knows them), the frames are
    grouped by the word their index carries and each word's pair differenced as detection does;
    the 96 bits must agree with this payload's codeword beyond chance: one known hypothesis, so
    the binomial tail itself must be <= 1e-9 (at least 77 of 96 bits). Every word must be among
    the frames. Frames marked for another record or not at all agree on ~48 bits and are
    refused. Without `indices`, blind detection of the frames must identify this payload.
    """
    if payload_for_record(payload.record_id, key) != payload:
        raise WatermarkError("the payload was not made with this key")
    if indices is None:
        detection = detect_watermark(frames, key)
        return detection.identified and detection.value_hex == payload.value_hex
    if len(indices) != len(frames):
        raise WatermarkError("one index per frame")
    runs = np.array([run_of(i) for i in indices])  # (n,)
    if not holds_every_word(runs):
        return False
    estimate = _pair_estimate(_soft_bits(frame_logits(frames)), runs)  # (96,)
    observed = (estimate > 0).astype(np.uint8)  # (96,)
    agreeing = int(np.sum(observed == codeword_bits(int(payload.value_hex, 16), key)))
    return binomial_false_positive(agreeing, CODEWORD_BITS, 1) <= MAX_FALSE_POSITIVE
