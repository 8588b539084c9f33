"""Marking: RivaGAN residuals added to the source appearance, plus and minus, in every bit order.

RivaGAN costs ~300 ms an image, far too much per frame, so it runs once per payload on the
source appearance (`mark_appearance`); the generator warps the marked appearance for every
frame, so the mark moves with the face at no extra cost.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np
import torch

from provenance.errors import WatermarkError
from provenance.payload import DATA_WORDS, WORD_COUNT, WatermarkPayload, word_bits

from .rivagan import EMBED_SIZE, as_rgb, encoder, resize_square, to_model_input
from .schedule import BIT_ORDERS, appearance_for_frame, ordered_word

STRENGTH = 1.7  # residual gain, rounded by dithering (`_add_residual`): rendered PSNR ~39 dB


class _ResidualMaker:
    """RivaGAN residuals for one image, word batch by word batch: the image's part of the
    encoder is computed once, here, and kept for every batch."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = as_rgb(image)
        self.small = resize_square(self.image, EMBED_SIZE)  # (256, 256, 3)
        self.x = torch.from_numpy(to_model_input(self.small[None]))  # (1, 3, 256, 256)
        with torch.inference_mode():
            self.image_part = encoder().image_part(self.x)  # 2 x (1, 32, 256, 256)

    def __call__(self, words: Sequence[int]) -> list[np.ndarray]:
        """The residual of each 32-bit word, upsampled to the image: B x (H, W, 3) float32."""
        bits = np.stack([word_bits(word) for word in words]).astype(np.float32)  # (B, 32)
        with torch.inference_mode():
            marked = encoder()(self.x, torch.from_numpy(bits), self.image_part)
        marked = np.clip(marked.numpy().transpose(0, 2, 3, 1), -1.0, 1.0)  # (B, 256, 256, 3)
        residuals = (marked + 1.0) * 127.5 - self.small.astype(np.float32)  # (B, 256, 256, 3)
        height, width = self.image.shape[:2]
        return [cv2.resize(r, (width, height), interpolation=cv2.INTER_LINEAR) for r in residuals]


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


def _check_payload_words(payload: WatermarkPayload) -> None:
    words = payload.words
    if len(words) != WORD_COUNT or any(
        words[2 * j + 1] != words[2 * j] ^ 0xFFFFFFFF for j in range(DATA_WORDS)
    ):
        raise WatermarkError(f"a payload carries {DATA_WORDS} words, each with its complement")


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
