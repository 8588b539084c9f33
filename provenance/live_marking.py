"""Marking and recording a live stream: the same mark and the same publish path as offline.

Offline, `mark_appearance` marks the portrait's aligned appearance with the record's payload
before the first frame and the generator warps that marked appearance for every frame; a live
session does exactly the same (`LiveMarking.prepare`), so no frame can leave a node unmarked:
the unmarked appearance is never handed to the renderer.

The recording (`LiveRecording`) keeps what the session sent without holding a minute of raw
frames (60 s x 25 fps x 768 KB = 1.1 GB): the audio it received (16 kHz float32, 3.8 MB a
minute) and a CRC-32 of every frame it sent. At the end the frames are made again from the
renderer's mouth rows (`LiveRenderer.replay`, deterministic) and each one must match the CRC
of the frame that was sent, or nothing is published (`recording_mismatch`). Then it goes
through `provenance.publish` like any job: watermark check on the encoded file, signed C2PA,
atomic rename. A failed or revoked session publishes nothing and leaves no file.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from provenance.c2pa_ca import SigningIdentity
from provenance.errors import MediaError
from provenance.manifest import ManifestInfo
from provenance.media import AudioTrack
from provenance.payload import WatermarkPayload, payload_for_record
from provenance.publish import PublishedRecord, min_publish_frames, publish
from provenance.watermark import MarkedAppearance, mark_appearance

AUDIO_RATE = 16_000  # what the generator consumes and the recording keeps


def frame_crc(frame: np.ndarray) -> int:
    """CRC-32 of a frame's bytes (~0.2 ms at 512x512): proves a replayed frame is the sent one."""
    return zlib.crc32(np.ascontiguousarray(frame, np.uint8).data)


@dataclass
class LiveMarking:
    """The record's payload and the appearance marked with it, made before the first frame."""

    payload: WatermarkPayload
    appearance: MarkedAppearance

    @classmethod
    def prepare(cls, aligned: np.ndarray, record_id: int, key: bytes) -> LiveMarking:
        """Mark the aligned (512, 512, 3) appearance for `record_id` (~0.3 s, once a session)."""
        payload = payload_for_record(record_id, key)
        return cls(payload=payload, appearance=mark_appearance(aligned, payload))


@dataclass
class LiveRecording:
    """What a live session sent: the received audio and the CRC of every frame sent."""

    fps: float = 25.0
    audio: list[np.ndarray] = field(default_factory=list)  # chunks of (N,) float32, 16 kHz
    sent: list[int] = field(default_factory=list)  # CRC-32 of frame i, in order

    def add_audio(self, samples: np.ndarray) -> None:
        self.audio.append(np.asarray(samples, np.float32).reshape(-1).copy())

    def add_frame(self, frame: np.ndarray) -> None:
        self.sent.append(frame_crc(frame))

    @property
    def frames(self) -> int:
        return len(self.sent)

    def audio_track(self) -> AudioTrack:
        samples = np.concatenate(self.audio) if self.audio else np.zeros(0, np.float32)
        return AudioTrack(samples=samples, sample_rate=AUDIO_RATE)

    def checked(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """`frames` (a replay) as long as each matches the frame sent at its index."""
        count = 0
        for index, frame in enumerate(frames):
            if index >= len(self.sent):
                break
            if frame_crc(frame) != self.sent[index]:
                raise MediaError(
                    f"frame {index} of the recording is not the frame that was sent",
                    code="recording_mismatch",
                )
            count += 1
            yield frame
        if count != len(self.sent):
            raise MediaError(
                f"the recording has {count} frames, the session sent {len(self.sent)}",
                code="recording_mismatch",
            )


def publish_recording(
    recording: LiveRecording,
    replay: Iterable[np.ndarray],
    marking: LiveMarking,
    manifest_info: ManifestInfo,
    out_path: str | os.PathLike[str],
    *,
    signer: SigningIdentity,
    watermark_key: bytes,
    before_sign: Callable[[], None] | None = None,
) -> PublishedRecord:
    """Publish the session's recording through `provenance.publish` (checked, signed, atomic).

    Raises MediaError(recording_too_short) when the session sent fewer frames than a file needs
    to carry the whole mark, MediaError(recording_mismatch) when a replayed frame differs from
    the one sent, and whatever `publish` raises; in every case nothing is left at `out_path`.
    """
    if recording.frames < min_publish_frames():
        raise MediaError(
            f"the session sent {recording.frames} frames; a recording needs at least "
            f"{min_publish_frames()}",
            code="recording_too_short",
        )
    return publish(
        recording.checked(replay),
        recording.audio_track(),
        marking.payload,
        manifest_info,
        out_path,
        signer=signer,
        watermark_key=watermark_key,
        fps=recording.fps,
        before_sign=before_sign,
    )
