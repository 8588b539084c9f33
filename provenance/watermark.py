"""Invisible, robust watermark in every frame: RivaGAN (invisible-watermark's bundled model).

Design (measurements in issue 4 and in provenance.bench):
- RivaGAN runs at EMBED_SIZE = 256 px; the residual it adds is upsampled to the frame and scaled
  by STRENGTH (PSNR about 38.6 dB). It costs ~250 ms, far too much per frame, so it runs ONCE per
  word on the source appearance (`mark_appearance`); the generator warps the marked appearance
  for every frame, so the mark moves with the face at no extra cost.
- The payload's WORD_COUNT words ride in WORD_COUNT differently-marked appearances; frame i is
  rendered from appearance (i // RUN_FRAMES) % WORD_COUNT. Runs of 12 frames leave mid-run frames
  whose mark is not smeared by the encoder's prediction from the previous run.
- Detection decodes DETECT_SAMPLES frames SAMPLE_SPACING apart (a spacing coprime with the word
  period, so samples cycle through every word at 25 and at 12.5 fps), assigns each sample to a
  word by its index bits and its agreement with the other samples, averages soft bits per word,
  lets BCH correct what is left and accepts only a binomial false-positive bound <= 1e-9.
- The decoder is the model's own (weights read from its ONNX file) run in torch with the second
  convolution of each branch evaluated on a stride-3 grid: the output is a spatial mean of a
  local feature, so a ninth of the positions estimates it as well (measured) at 3.6x less cost.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from provenance.errors import MediaError, WatermarkError
from provenance.payload import (
    CODEWORD_BITS,
    INDEX_BITS,
    RECORD_ID_BITS,
    WORD_BITS,
    WORD_COUNT,
    WatermarkPayload,
    codeword_bits,
    decode_codeword,
    frame_mask,
    payload_for_record,
    word_bits,
)

WATERMARK_ALGORITHM = "rivagan-256-appearance-bch-v1"
EMBED_SIZE = 256  # px: RivaGAN's own resolution; measured robust there, 4x cheaper than 512
STRENGTH = 1.7  # residual gain: 1.0 gives 43 dB but ~0.77 bit accuracy after CRF 30; 1.7 ~38.6 dB
RUN_FRAMES = 12  # frames per run of one word (6 after halving the frame rate)
DETECT_SAMPLES = 16
SAMPLE_SPACING = 7  # frames; 7/12 of a run, so samples land on every word and at varied phases
DECODE_STRIDE = 3  # measured: same per-frame accuracy as stride 1 after 2x CRF 23
MAX_FALSE_POSITIVE = 1e-9
CHASE_BITS = 5  # 32 BCH decodes, ~1 ms
MAX_SIDE = 8192
MIN_SIDE = 16


def _model_path(name: str) -> str:
    import imwatermark  # only for where its bundled models live

    return os.path.join(os.path.dirname(os.path.abspath(imwatermark.__file__)), name)


@functools.cache
def _encoder():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(_model_path("rivagan_encoder.onnx"), options)


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


class RivaganDecoder(torch.nn.Module):
    """RivaGAN's decoder (Zhang et al. 2019): attention-weighted conv features, spatially averaged.

    Two branches of Conv(3->32, 11x11) -> tanh -> BN -> Conv(32->32, 11x11); the attention branch
    is softmaxed over channels; the 32 outputs are the spatial mean of their product (logits,
    > 0 means bit 1). `stride` evaluates the second convolutions on a coarser grid.
    """

    def __init__(self, weights: dict[str, np.ndarray], stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        for name, value in weights.items():
            tensor = torch.from_numpy(value)
            if tensor.ndim == 5:  # (out, in, T=1, kh, kw): the video model on single frames
                tensor = tensor[:, :, 0]
            self.register_buffer(name.strip("_").replace(".", "_"), tensor)

    def _branch(self, x: torch.Tensor, prefix: str) -> torch.Tensor:
        p = lambda n: getattr(self, f"{prefix}_{n}")  # noqa: E731
        h = torch.tanh(F.conv2d(x, p("0_weight"), p("0_bias"), padding=5))  # (B, 32, H, W)
        h = F.batch_norm(h, p("2_running_mean"), p("2_running_var"), p("2_weight"), p("2_bias"))
        return F.conv2d(h, p("3_weight"), p("3_bias"), padding=5, stride=self.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 3, H, W) in [-1, 1]
        a = torch.tanh(self._branch(x, "attention"))  # (B, 32, H/s, W/s)
        a = F.batch_norm(
            a,
            self.attention_5_running_mean,
            self.attention_5_running_var,
            self.attention_5_weight,
            self.attention_5_bias,
        )
        a = torch.softmax(a, dim=1)
        c = self._branch(x, "conv")  # (B, 32, H/s, W/s)
        return (c * a).mean(dim=(2, 3))  # (B, 32) logits


@functools.cache
def _decoder() -> RivaganDecoder:
    weights = _onnx_float_initializers(_model_path("rivagan_decoder.onnx"))
    return RivaganDecoder(weights, stride=DECODE_STRIDE).eval()


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


def embed_word(image: np.ndarray, word: int) -> np.ndarray:
    """Mark one image with a 32-bit word: RivaGAN at EMBED_SIZE, residual upsampled, x STRENGTH."""
    image = _as_rgb(image)
    small = _resize(image, EMBED_SIZE)  # (256, 256, 3)
    bits = word_bits(word).astype(np.float32)[None]  # (1, 32)
    frame = _to_model(small[None])[:, :, None]  # (1, 3, 1, 256, 256): the model is a video model
    (marked,) = _encoder().run(None, {"frame": frame, "data": bits})
    marked = np.clip(marked[0, :, 0].transpose(1, 2, 0), -1.0, 1.0)  # (256, 256, 3)
    residual = (marked + 1.0) * 127.5 - small.astype(np.float32)
    height, width = image.shape[:2]
    residual = cv2.resize(residual, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(np.rint(image + STRENGTH * residual), 0, 255).astype(np.uint8)


def word_for_frame(index: int) -> int:
    """Which payload word (0..WORD_COUNT-1) frame `index` of an output carries."""
    if index < 0:
        raise WatermarkError("frame indices start at 0")
    return (index // RUN_FRAMES) % WORD_COUNT


@dataclass(frozen=True)
class MarkedAppearance:
    """The source appearance marked once per payload word; the renderer warps `for_frame(i)`."""

    payload: WatermarkPayload
    appearances: tuple[np.ndarray, ...]  # WORD_COUNT x (H, W, 3) uint8

    def for_frame(self, index: int) -> np.ndarray:
        """The marked appearance to render frame `index` from, (H, W, 3) uint8 RGB."""
        return self.appearances[word_for_frame(index)]


def mark_appearance(aligned: np.ndarray, payload: WatermarkPayload) -> MarkedAppearance:
    """Mark the aligned source appearance (512x512 RGB) once for each payload word."""
    aligned = _as_rgb(aligned)
    if len(payload.words) != WORD_COUNT:
        raise WatermarkError(f"a payload carries {WORD_COUNT} words")
    appearances = []
    for word in payload.words:
        marked = embed_word(aligned, word)
        marked.setflags(write=False)  # shared by every frame of its runs
        appearances.append(marked)
    return MarkedAppearance(payload=payload, appearances=tuple(appearances))


def mark_frame(frame: np.ndarray, payload: WatermarkPayload, index: int) -> np.ndarray:
    """Mark one frame directly with the word its index carries (~250 ms: a fallback only)."""
    return embed_word(frame, payload.words[word_for_frame(index)])


@dataclass(frozen=True)
class WatermarkDetection:
    """What the frames say. `identified` only when the false-positive bound is <= 1e-9."""

    identified: bool
    record_id: int | None
    value_hex: str | None
    confidence: float  # fraction of the 90 codeword bits that agree with the decoded codeword
    false_positive_probability: float  # union bound over every valid record id (binomial tail)
    frames_used: int


def sample_positions(count: int) -> list[int]:
    """Indices of the frames detection decodes, out of `count` frames."""
    samples = min(count, DETECT_SAMPLES)
    span = (samples - 1) * SAMPLE_SPACING
    if count > span:
        start = (count - 1 - span) // 2
        return [start + j * SAMPLE_SPACING for j in range(samples)]
    return sorted({round(x) for x in np.linspace(0, count - 1, samples)})


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


def _soft_bits(logits: np.ndarray, key: bytes) -> np.ndarray:
    """Unmasked soft bits in [-3, 3], scaled per frame so one loud frame cannot outvote others."""
    scale = np.median(np.abs(logits), axis=1, keepdims=True) + 1e-6  # (N, 1)
    signs = 1.0 - 2.0 * frame_mask(key).astype(np.float32)  # (32,)
    return np.clip(logits / scale, -3.0, 3.0) * signs  # (N, 32)


def _index_signs() -> np.ndarray:
    return np.array(
        [
            [1.0 if (k >> (INDEX_BITS - 1 - b)) & 1 else -1.0 for b in range(INDEX_BITS)]
            for k in range(WORD_COUNT)
        ],
        np.float32,
    )  # (WORD_COUNT, INDEX_BITS)


def _cluster(chunks: np.ndarray, clusters: int) -> np.ndarray:
    """Group samples carrying the same word, (N,) int labels.

    The decoder adds a content bias common to every frame of a clip (measured: chunks of different
    words correlate 0.3-0.7), so samples are compared after removing their mean; then a few rounds
    of spherical k-means from mutually distant seeds (N <= DETECT_SAMPLES, so this is tiny).
    """
    centred = chunks - chunks.mean(axis=0, keepdims=True)  # (N, 30)
    unit = centred / (np.linalg.norm(centred, axis=1, keepdims=True) + 1e-6)
    seeds = [0]
    while len(seeds) < min(clusters, len(unit)):
        closeness = (unit @ unit[seeds].T).max(axis=1)  # (N,)
        seeds.append(int(np.argmin(closeness)))
    centres = unit[seeds]  # (K, 30)
    labels = np.zeros(len(unit), int)
    for _ in range(5):
        labels = np.argmax(unit @ centres.T, axis=1)
        centres = np.stack(
            [
                unit[labels == k].sum(axis=0) if (labels == k).any() else centres[k]
                for k in range(len(centres))
            ]
        )
        centres /= np.linalg.norm(centres, axis=1, keepdims=True) + 1e-6
    return labels


def _assign_words(soft: np.ndarray) -> np.ndarray:
    """Word index of each sampled frame (in time order), (N,) int.

    Clusters give which samples share a word; which word each cluster is comes from the index
    bits summed over its samples and from time order (runs go 0, 1, 2, 0, ...: consecutive samples
    in different clusters mostly step +1), over the WORD_COUNT! ways to name the clusters.
    """
    labels = _cluster(soft[:, INDEX_BITS:], WORD_COUNT)
    index_score = soft[:, :INDEX_BITS] @ _index_signs().T  # (N, WORD_COUNT)
    best, best_score = None, -np.inf
    for naming in itertools.permutations(range(WORD_COUNT)):
        words = np.array(naming)[labels]  # (N,)
        score = index_score[np.arange(len(words)), words].sum()
        steps = (words[1:] - words[:-1]) % WORD_COUNT
        score += np.sum(steps == 1) - np.sum(steps > 1)
        if score > best_score:
            best, best_score = words, score
    return best


def _word_bits_without_content_bias(means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hard codeword bits (90,) and their reliability from per-word mean soft bits (K, 30),
    cancelling the decoder's content bias.

    Measured: after two H.264 encodes the decoder's response to the picture itself (the same for
    every word, since all words mark the same appearance) flips ~8 of 90 bits that averaging
    over frames cannot fix. Subtracting the mean over words cancels it: where the words differ at
    a position the signs of the centred values are exactly their bits. Where all words agree the
    centred values are ~0 (spread well under the typical spread of 2x the mark's amplitude) and
    only the plain sign remains, so the bias can only bite on those ~1/4 of the positions.
    """
    centred = means - means.mean(axis=0, keepdims=True)  # (K, 30)
    spread = centred.max(axis=0) - centred.min(axis=0)  # (30,)
    differing = spread > 0.5 * np.median(spread)  # median spread ~ 2x amplitude (3/4 differ)
    bits = np.where(differing[None, :], centred > 0, means > 0).astype(np.uint8)
    reliability = np.where(differing[None, :], np.abs(centred), np.abs(means))
    return bits.reshape(-1), reliability.reshape(-1)


def _chase_decode(observed: np.ndarray, reliability: np.ndarray, key: bytes):
    """Chase-II: BCH-decode the observation with every flip pattern of its CHASE_BITS least
    reliable bits; keep the record whose codeword agrees most with the observation itself.

    The false-positive bound is a union over every valid codeword measured against the
    unflipped observation, so searching more patterns does not weaken it.
    """
    weakest = np.argsort(reliability)[:CHASE_BITS]
    best = None
    for pattern in range(2**CHASE_BITS):
        trial = observed.copy()
        for bit, position in enumerate(weakest):
            if pattern >> bit & 1:
                trial[position] ^= 1
        decoded = decode_codeword(trial, key)
        if decoded is None:
            continue
        agreeing = int(np.sum(codeword_bits(int(decoded.value_hex, 16), key) == observed))
        if best is None or agreeing > best.agreeing_bits:
            best = dataclasses.replace(decoded, agreeing_bits=agreeing)
    return best


def detect_watermark(frames: Sequence[np.ndarray], key: bytes) -> WatermarkDetection:
    """Read the payload from frames of any size; identify only at false-positive <= 1e-9."""
    positions = sample_positions(len(frames))
    return detect_from_logits(frame_logits([frames[i] for i in positions]), key)


def detect_from_logits(logits: np.ndarray, key: bytes) -> WatermarkDetection:
    """The decision part of `detect_watermark`, from decoder logits (n, 32) of sampled frames."""
    nothing = WatermarkDetection(False, None, None, 0.0, 1.0, len(logits))
    if len(logits) == 0:
        return nothing
    soft = _soft_bits(logits, key)  # (n, 32)
    assignment = _assign_words(soft)
    if len(set(assignment.tolist())) < WORD_COUNT:
        return nothing  # a word never seen: 64 bits cannot be read from fewer than 90
    means = np.stack(
        [soft[assignment == k, INDEX_BITS:].mean(axis=0) for k in range(WORD_COUNT)]
    )  # (WORD_COUNT, 30)
    observed, reliability = _word_bits_without_content_bias(means)  # (90,), (90,)
    decoded = _chase_decode(observed, reliability, key)
    if decoded is None:
        return nothing
    # every valid record id, times the ways the clusters could have been named
    candidates = 2**RECORD_ID_BITS * math.factorial(WORD_COUNT)
    fp = binomial_false_positive(decoded.agreeing_bits, CODEWORD_BITS, candidates)
    identified = fp <= MAX_FALSE_POSITIVE
    return WatermarkDetection(
        identified=identified,
        record_id=decoded.record_id if identified else None,
        value_hex=decoded.value_hex if identified else None,
        confidence=decoded.agreeing_bits / CODEWORD_BITS,
        false_positive_probability=fp,
        frames_used=len(logits),
    )


def frames_carry_payload(
    frames: Sequence[np.ndarray], payload: WatermarkPayload, key: bytes
) -> bool:
    """True when sampled frames carry this payload (publish's check before it signs).

    Knowing the expected words, each sample is compared with each word; the agreeing bits over
    all samples must be beyond chance for one codeword (false-positive <= 1e-9), and every word
    must be seen, so frames marked for another record or not at all are refused.
    """
    if payload_for_record(payload.record_id, key) != payload:
        raise WatermarkError("the payload was not made with this key")
    positions = sample_positions(len(frames))
    if not positions:
        return False
    logits = frame_logits([frames[i] for i in positions])  # (n, 32)
    expected = np.stack([word_bits(w) for w in payload.words]).astype(bool)  # (K, 32)
    hard = logits > 0  # (n, 32)
    agreement = (hard[:, None, :] == expected[None, :, :]).sum(axis=2)  # (n, K)
    best = np.argmax(agreement, axis=1)
    if len(set(best.tolist())) < WORD_COUNT:
        return False
    agreeing = int(agreement.max(axis=1).sum())
    total = len(positions) * WORD_BITS
    return binomial_false_positive(agreeing, total, WORD_COUNT ** len(positions)) <= (
        MAX_FALSE_POSITIVE
    )
