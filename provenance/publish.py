"""`publish`: the only way a generated video reaches disk, watermarked, fingerprinted and signed.

One streaming pass: each frame is (optionally) watermarked, encoded into a temporary MP4 in the
destination folder and forgotten; only the indices of a bounded, evenly spread sample and one PDQ
fingerprint per second are kept. The watermark check then decodes the sampled frames back from
the encoded file, so it proves what will be published, not what went into the encoder (measured:
256-px frames pass a check before encoding at bit accuracy 1.0 and lose the mark in H.264 CRF 21;
the platform's 512-px frames keep it). Only after that check, the caller's last-moment check
(`before_sign`, where the platform re-checks consent), and a C2PA signature that verifies, is
the file renamed into place. Any failure removes every temporary file: nothing unwatermarked,
unsigned or partial is ever left at, or beside, `out_path`.
"""

from __future__ import annotations

import itertools
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from provenance.c2pa_ca import SigningIdentity
from provenance.errors import MediaError, WatermarkError
from provenance.fingerprint import pdq_hash
from provenance.manifest import ManifestInfo, sign_mp4
from provenance.media import AudioTrack, Mp4Writer, sha256_file, video_frames_at
from provenance.payload import WatermarkPayload
from provenance.watermark import (
    WATERMARK_ALGORITHM,
    WORD_COUNT,
    frames_carry_payload,
    run_middle,
    run_of,
    word_for_frame,
)

# Frames per payload word handed to frames_carry_payload, with their indices. Frame i carries word
# word_for_frame(i) and the check differences each word with its complement, so the sample is
# kept per word. Decoding the mark costs ~100-250 ms a frame, so 6 words x 2 frames, each word's
# frames spread over the whole clip (a mark that fades half-way must still be caught). Only the
# middle frame of each run is a candidate: a run's first frame is predicted by the encoder from
# the previous run's word, which smears its mark.
CHECK_FRAMES_PER_WORD = 2


def min_publish_frames() -> int:
    """The fewest frames `publish` accepts: the last payload word's first run must reach its
    middle (settled) frame, or the clip cannot carry the whole watermark (clip_too_short)."""
    return run_middle(WORD_COUNT - 1) + 1


@dataclass(frozen=True)
class PublishedRecord:
    """What the platform stores about a published video."""

    path: str
    file_sha256: str  # of the final, signed file
    payload_hex: str
    manifest_id: str
    fingerprints: tuple[str, ...]  # PDQ hex of frames sampled every second
    frames: int
    duration_s: float


class _SpreadSample:
    """Keeps at most 2 * `target` frame indices spread evenly over a stream of unknown length.

    An offered index is kept when its ordinal is a multiple of the current stride; when the
    buffer is full, every other kept index is dropped and the stride doubles.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.stride = 1
        self.offered = 0
        self.kept: list[int] = []

    def offer(self, index: int) -> None:
        if self.offered % self.stride == 0:
            self.kept.append(index)
            if len(self.kept) > 2 * self.target:
                self.kept = self.kept[::2]
                self.stride *= 2
        self.offered += 1

    def indices(self) -> list[int]:
        """At most `target` of the kept indices, evenly spaced, first and last included."""
        if len(self.kept) <= self.target:
            return list(self.kept)
        picks = np.linspace(0, len(self.kept) - 1, self.target).round().astype(int)
        return [self.kept[i] for i in picks]


class _EncoderThread:
    """Feeds an open Mp4Writer from a second thread, so that making frames (the caller's
    iterator: rendering) and encoding them overlap. PyAV releases the GIL inside x264.

    Measured on the demo's 10-s clip: render then encode in one thread 2.9-3.0 s, render 1.1 s
    and encode 1.35-1.7 s alone, both through this thread 2.2-2.4 s. Only this thread touches
    the writer until `close`; an error it meets is raised by the next `write` or by `close`.
    """

    DEPTH = 8  # frames queued at most (6 MB at 512x512): memory stays bounded

    def __init__(self, writer: Mp4Writer) -> None:
        self._writer = writer
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=self.DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="publish-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (frame := self._queue.get()) is not None:
            if self._error is None:  # after an error, drain so `write` never blocks forever
                try:
                    self._writer.write(frame)
                except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                    self._error = error

    def write(self, frame: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(np.array(frame, copy=True))  # the caller may reuse its buffer

    def close(self, raise_error: bool = True) -> None:
        """Wait until every queued frame is encoded; raise the thread's error if it met one."""
        self._queue.put(None)
        self._thread.join()
        if raise_error and self._error is not None:
            raise self._error


def publish(
    frames: Iterable[np.ndarray],
    audio: AudioTrack | None,
    payload: WatermarkPayload,
    manifest_info: ManifestInfo,
    out_path: str | os.PathLike[str],
    *,
    signer: SigningIdentity,
    watermark_key: bytes,
    fps: float = 25.0,
    on_frame: Callable[[int], None] | None = None,
    before_sign: Callable[[], None] | None = None,
) -> PublishedRecord:
    """Encode, check, sign and atomically publish one generated video at `out_path`.

    frames: (H, W, 3) uint8 RGB, consumed once and never all held, rendered from a watermarked
        appearance (`mark_appearance`): publish checks the mark and never adds it.
    on_frame(n): called after the n-th frame (1-based) is handed to the encoder (at most
        _EncoderThread.DEPTH frames ahead of it), for progress.
    before_sign(): called after the watermark check and before signing; if it raises, nothing
        is left behind and its exception propagates.
    Raises WatermarkError when sampled frames, decoded back from the encoded file, do not carry
    `payload` (code watermark_missing) or the clip is too short to carry every payload word
    (clip_too_short: some word's run has no middle frame: under 34 frames), MediaError for bad
    or no frames, SigningError when the manifest cannot be signed and verified.
    """
    out = Path(out_path)
    if not out.parent.is_dir():
        raise MediaError(f"the destination folder {out.parent} does not exist")
    # Hidden names in the destination folder: same filesystem, so os.replace is atomic.
    token = secrets.token_hex(6)
    unsigned = out.with_name(f".{out.name}.{token}.unsigned.mp4")
    signed = out.with_name(f".{out.name}.{token}.signed.mp4")
    seconds_stride = max(1, round(fps))
    try:
        stream = iter(frames)
        first = next(stream, None)
        if first is None:
            raise MediaError("publish needs at least one frame")
        height, width = first.shape[:2]
        samples: dict[int, _SpreadSample] = {}  # word -> its spread sample
        fingerprints: list[str] = []
        with Mp4Writer(unsigned, width=width, height=height, fps=fps, audio=audio) as writer:
            encoder = _EncoderThread(writer)
            try:
                for index, frame in enumerate(itertools.chain([first], stream)):
                    encoder.write(frame)
                    if index == run_middle(run_of(index)):
                        word = word_for_frame(index)
                        samples.setdefault(word, _SpreadSample(CHECK_FRAMES_PER_WORD)).offer(index)
                    if index % seconds_stride == 0:
                        fingerprints.append(pdq_hash(frame)[0])
                    if on_frame is not None:
                        on_frame(index + 1)
            except BaseException:
                encoder.close(raise_error=False)  # before the writer removes the partial file
                raise
            encoder.close()
            frame_count = writer.frames_written

        if len(samples) < len(payload.words):
            raise WatermarkError(
                f"{frame_count} frames carry only {len(samples)} of the {len(payload.words)} "
                "payload words; the clip is too short to publish",
                code="clip_too_short",
            )
        check = sorted(index for sample in samples.values() for index in sample.indices())
        by_index = video_frames_at(unsigned, check)
        decoded = [by_index[i] for i in check if i in by_index]
        check = [i for i in check if i in by_index]
        if not frames_carry_payload(decoded, payload, watermark_key, indices=check):
            raise WatermarkError(
                "the frames do not carry the expected watermark payload; refusing to publish",
                code="watermark_missing",
            )
        if before_sign is not None:
            before_sign()
        manifest_id = sign_mp4(
            unsigned, signed, manifest_info, signer, (WATERMARK_ALGORITHM, payload.value_hex)
        )
        file_sha256 = sha256_file(signed)
        os.replace(signed, out)
    except BaseException:
        signed.unlink(missing_ok=True)
        raise
    finally:
        unsigned.unlink(missing_ok=True)
    return PublishedRecord(
        path=str(out),
        file_sha256=file_sha256,
        payload_hex=payload.value_hex,
        manifest_id=manifest_id,
        fingerprints=tuple(fingerprints),
        frames=frame_count,
        duration_s=frame_count / fps,
    )
