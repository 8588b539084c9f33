"""One live session on a node: its media loop, from the admitted offer to publish or
termination.

Threads, and why: every RTCPeerConnection runs on the node's one asyncio loop (aiortc needs
one loop); each session renders on its own single worker thread, so the loop (RTP, ICE, the
encoder feeding) never waits for a frame and two sessions never share a renderer; database
calls (consent re-check, publishing) run on worker threads too.

The requester's microphone track is resampled to 16 kHz mono and pushed to
`generator.live.LiveRenderer`, which renders on the appearance marked with the session's
record payload (`provenance.live_marking`), so every frame sent carries the watermark. Consent
is re-checked every CHECK_SECONDS; revocation closes the connection at once and nothing is
published. A stop (or the end of the microphone track) publishes what was sent.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import av
import numpy as np
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from django.db import close_old_connections

from core.errors import ApplicationError
from core.keys import secret_bytes
from generator.face_analysis import analyse_portrait, load_image
from generator.live import LiveRenderer
from jobs.controls import controls_from
from provenance.errors import ProvenanceError
from provenance.live_marking import LiveMarking, LiveRecording, publish_recording

from . import endings
from .services import LiveAdmission

logger = logging.getLogger(__name__)

CHECK_SECONDS = 0.25  # consent re-check period: revocation ends a stream well within 1 s
VIDEO_CLOCK = 90_000


@dataclass
class SessionStats:
    setup_ms: float = 0.0
    first_audio_at: float | None = None  # perf_counter of the first audio frame received
    first_frame_ms: float | None = None  # first audio at the node -> first frame handed out
    frames_sent: int = 0
    sent_at: list[float] = field(default_factory=list)

    def as_timings(self) -> dict:
        fps = 0.0
        if len(self.sent_at) > 1:
            fps = (len(self.sent_at) - 1) / (self.sent_at[-1] - self.sent_at[0])
        return {
            "setup_ms": round(self.setup_ms, 1),
            "first_frame_ms": None
            if self.first_frame_ms is None
            else round(self.first_frame_ms, 1),
            "frames_sent": self.frames_sent,
            "node_fps": round(fps, 2),
        }


class LiveVideoTrack(MediaStreamTrack):
    """The talking face: frames in the order rendered, each recorded as it is handed out."""

    kind = "video"

    def __init__(self, session: NodeSession) -> None:
        super().__init__()
        self.session = session
        self.queue: asyncio.Queue = asyncio.Queue()

    async def recv(self) -> av.VideoFrame:
        item = await self.queue.get()
        if item is None:
            self.stop()
            raise MediaStreamError
        index, pixels = item  # (512, 512, 3) uint8 RGB
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        # RTP time = the frame's place in the audio: the client maps it back to the sound.
        frame.pts = int(round(index * VIDEO_CLOCK / self.session.fps))
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.session.frame_sent(pixels)
        return frame


class NodeSession:
    """One live session on this node, from the admitted offer to publish or termination."""

    def __init__(
        self, admission: LiveAdmission, prepared, on_closed: Callable[[NodeSession], None]
    ) -> None:
        analysis, marking, controls = prepared
        self.on_closed = on_closed  # the node frees the session's slot
        self.admission = admission
        self.session_id = admission.session_id
        self.marking = marking
        self.renderer = LiveRenderer(analysis, controls, appearance=marking.appearance)
        self.fps = self.renderer.config.fps
        self.recording = LiveRecording(fps=self.fps)
        self.stats = SessionStats()
        self.pc = RTCPeerConnection()
        self.video = LiveVideoTrack(self)
        self.pc.addTrack(self.video)
        self.worker = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"live-{admission.record_id}"
        )
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=16_000)
        self.started = time.monotonic()
        self.ending: asyncio.Task | None = None
        self.tasks: list[asyncio.Task] = []

        @self.pc.on("track")
        def on_track(track) -> None:
            if track.kind == "audio":
                self.tasks.append(asyncio.ensure_future(self._consume(track)))

        @self.pc.on("connectionstatechange")
        async def on_state() -> None:
            if self.pc.connectionState in ("failed", "closed"):
                self.end(publish=True, reason="connection closed")

    def frame_sent(self, pixels: np.ndarray) -> None:
        now = time.perf_counter()
        if self.stats.frames_sent == 0 and self.stats.first_audio_at is not None:
            self.stats.first_frame_ms = (now - self.stats.first_audio_at) * 1000
        self.stats.frames_sent += 1
        self.stats.sent_at.append(now)
        self.recording.add_frame(pixels)

    async def _consume(self, track) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await track.recv()
                if self.stats.first_audio_at is None:
                    self.stats.first_audio_at = time.perf_counter()
                samples = np.concatenate(
                    [f.to_ndarray().reshape(-1) for f in self.resampler.resample(frame)]
                    or [np.zeros(0, np.float32)]
                )  # (N,) float32, 16 kHz
                self.recording.add_audio(samples)
                frames = await loop.run_in_executor(self.worker, self.renderer.push, samples)
                for live_frame in frames:
                    self.video.queue.put_nowait((live_frame.index, live_frame.pixels))
        except MediaStreamError:
            self.end(publish=True, reason="audio ended")

    async def watch(self) -> None:
        """Re-check consent and the session's length until the session ends."""
        while self.ending is None:
            await asyncio.sleep(CHECK_SECONDS)
            if self.ending is not None or await self.recheck():
                return
            if time.monotonic() - self.started >= self.admission.max_duration_s:
                self.end(publish=True, reason="maximum duration reached")
                return

    async def recheck(self) -> bool:
        """Check consent now (the poll, or the web side's word that it was revoked); end the
        session, publishing nothing, when it no longer holds. True when the session ends."""
        if self.ending is not None:
            return True
        try:
            reason = await asyncio.to_thread(
                db_call,
                endings.live_session_check,
                session_id=self.session_id,
                frames_sent=self.stats.frames_sent,
            )
        except Exception:  # noqa: BLE001 - a check that cannot run must stop the stream
            logger.exception("live session %s: consent check failed", self.session_id)
            reason = "the consent check failed"
        if reason and self.ending is None:
            self.end(publish=False, reason=reason)
        return bool(reason)

    def end(self, *, publish: bool, reason: str) -> asyncio.Task:
        if self.ending is None:
            self.ending = asyncio.ensure_future(self._end(publish, reason))
        return self.ending

    async def _end(self, publish: bool, reason: str) -> str:
        self.video.queue.put_nowait(None)
        for task in self.tasks:
            task.cancel()
        await self.pc.close()
        self.on_closed(self)
        timings = self.stats.as_timings()
        if not publish:
            await asyncio.to_thread(
                db_call,
                endings.live_session_terminate,
                session_id=self.session_id,
                reason=reason,
                frames=self.stats.frames_sent,
                timings=timings,
            )
            self.worker.shutdown(wait=False)
            return "terminated"
        outcome = await asyncio.get_running_loop().run_in_executor(
            self.worker, self._publish, timings
        )
        self.worker.shutdown(wait=False)
        return outcome

    def _publish(self, timings: dict) -> str:
        """On the session's worker: replay, check, sign, register; or fail leaving nothing."""
        close_old_connections()
        out = None
        try:
            info, signer, key, before_sign = endings.live_publish_context(
                session_id=self.session_id
            )
            out = endings.live_output_dir(self.admission.record_id) / "recording.mp4"
            published = publish_recording(
                self.recording,
                self.renderer.replay(),
                self.marking,
                info,
                out,
                signer=signer,
                watermark_key=key,
                before_sign=before_sign,
            )
            endings.live_session_publish(
                session_id=self.session_id, published=published, timings=timings
            )
            return "ended"
        except (ApplicationError, ProvenanceError) as error:
            if out is not None:
                out.unlink(missing_ok=True)
            if getattr(error, "code", "") == "consent_revoked":
                endings.live_session_terminate(
                    session_id=self.session_id,
                    reason=endings.TERMINATED_BY_REVOCATION,
                    frames=self.stats.frames_sent,
                    timings=timings,
                )
                return "terminated"
            endings.live_session_fail(
                session_id=self.session_id,
                code=error.code,
                reason=error.message,
                frames=self.stats.frames_sent,
                timings=timings,
            )
            return "failed"
        except BaseException:
            if out is not None:
                out.unlink(missing_ok=True)
            endings.live_session_fail(
                session_id=self.session_id,
                code="live_publish_failed",
                reason="The recording could not be published.",
                frames=self.stats.frames_sent,
                timings=timings,
            )
            raise
        finally:
            close_old_connections()


def db_call(function, **kwargs):
    """Run a service on a worker thread with a usable database connection."""
    close_old_connections()
    try:
        return function(**kwargs)
    finally:
        close_old_connections()


def session_prepare(admission: LiveAdmission):
    """Portrait analysis and the appearance marked with the session's payload (setup)."""
    analysis = analyse_portrait(load_image(admission.portrait_path))
    marking = LiveMarking.prepare(analysis.aligned, admission.record_id, secret_bytes("watermark"))
    return analysis, marking, controls_from(admission.controls)
