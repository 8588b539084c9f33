"""The live node: holds WebRTC sessions (aiortc), renders them live, records and publishes.

Threads, and why:
- one asyncio loop thread runs every RTCPeerConnection (aiortc needs one loop);
- each session renders on its own single worker thread, so the loop (RTP, ICE, the encoder
  feeding) never waits for a frame and two sessions never share a renderer;
- the signalling endpoint is a small stdlib ThreadingHTTPServer (the web side forwards to it
  over loopback); each request hands a coroutine to the loop and waits for its answer;
- database calls (ticket check, consent re-check, publishing) run on worker threads too.

Per session: the requester's microphone track is resampled to 16 kHz mono and pushed to
`generator.live.LiveRenderer`, which renders on the appearance marked with the session's
record payload (`provenance.live_marking`), so every frame sent carries the watermark. Consent
is re-checked every CHECK_SECONDS; revocation closes the connection at once and nothing is
published. A stop (or the end of the microphone track) publishes what was sent.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from django.db import close_old_connections

from core.errors import ApplicationError
from core.keys import secret_bytes
from generator.face_analysis import analyse_portrait, load_image
from generator.live import LiveRenderer
from generator.pipeline import load_models
from jobs.controls import controls_from
from provenance.errors import ProvenanceError
from provenance.live_marking import LiveMarking, LiveRecording, publish_recording

from . import services

logger = logging.getLogger(__name__)

CHECK_SECONDS = 0.25  # consent re-check period: revocation ends a stream well within 1 s
VIDEO_CLOCK = 90_000
MAX_BODY = 64 * 1024  # an SDP offer is a few KB


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

    def __init__(self, node: LiveNode, admission: services.LiveAdmission, prepared) -> None:
        analysis, marking, controls = prepared
        self.node = node
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
            if self.ending is not None:
                return
            try:
                reason = await asyncio.to_thread(
                    _db,
                    services.live_session_check,
                    session_id=self.session_id,
                    frames_sent=self.stats.frames_sent,
                )
            except Exception:  # noqa: BLE001 - a check that cannot run must stop the stream
                logger.exception("live session %s: consent check failed", self.session_id)
                reason = "the consent check failed"
            if reason:
                self.end(publish=False, reason=reason)
                return
            if time.monotonic() - self.started >= self.admission.max_duration_s:
                self.end(publish=True, reason="maximum duration reached")
                return

    def end(self, *, publish: bool, reason: str) -> asyncio.Task:
        if self.ending is None:
            self.ending = asyncio.ensure_future(self._end(publish, reason))
        return self.ending

    async def _end(self, publish: bool, reason: str) -> str:
        self.video.queue.put_nowait(None)
        for task in self.tasks:
            task.cancel()
        await self.pc.close()
        self.node.release(self)
        timings = self.stats.as_timings()
        if not publish:
            await asyncio.to_thread(
                _db,
                services.live_session_terminate,
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
            info, signer, key, before_sign = services.live_publish_context(
                session_id=self.session_id
            )
            out = services.live_output_dir(self.admission.record_id) / "recording.mp4"
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
            services.live_session_publish(
                session_id=self.session_id, published=published, timings=timings
            )
            return "ended"
        except (ApplicationError, ProvenanceError) as error:
            if out is not None:
                out.unlink(missing_ok=True)
            if getattr(error, "code", "") == "consent_revoked":
                services.live_session_terminate(
                    session_id=self.session_id,
                    reason=services.TERMINATED_BY_REVOCATION,
                    frames=self.stats.frames_sent,
                    timings=timings,
                )
                return "terminated"
            services.live_session_fail(
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
            services.live_session_fail(
                session_id=self.session_id,
                code="live_publish_failed",
                reason="The recording could not be published.",
                frames=self.stats.frames_sent,
                timings=timings,
            )
            raise
        finally:
            close_old_connections()


def _db(function, **kwargs):
    """Run a service on a worker thread with a usable database connection."""
    close_old_connections()
    try:
        return function(**kwargs)
    finally:
        close_old_connections()


def _prepare(admission: services.LiveAdmission):
    """Portrait analysis and the appearance marked with the session's payload (setup)."""
    analysis = analyse_portrait(load_image(admission.portrait_path))
    marking = LiveMarking.prepare(analysis.aligned, admission.record_id, secret_bytes("watermark"))
    return analysis, marking, controls_from(admission.controls)


class LiveNode:
    """Holds up to `capacity` sessions; refuses more at once with `no_live_capacity` (503)."""

    def __init__(self, *, name: str, capacity: int, host: str = "127.0.0.1", port: int = 0):
        self.name, self.capacity = name, capacity
        self.sessions: dict[str, NodeSession] = {}
        self._reserved = 0
        self._lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(
            target=self.loop.run_forever, name="live-loop", daemon=True
        )
        self.http = ThreadingHTTPServer((host, port), _handler_for(self))
        self.http.daemon_threads = True
        self._http_thread = threading.Thread(
            target=self.http.serve_forever, name="live-http", daemon=True
        )
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LiveNode:
        load_models()  # once, so no session pays for loading in its setup
        self._loop_thread.start()
        self._http_thread.start()
        self._register()
        threading.Thread(target=self._heartbeat, name="live-register", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for session in list(self.sessions.values()):
            self.call(
                lambda s=session: s.end(publish=False, reason="the live node stopped"), timeout=30
            )
        self.http.shutdown()
        self.http.server_close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._loop_thread.join(timeout=5)
        _db(services.live_node_unregister, name=self.name)

    def _register(self) -> None:
        _db(
            services.live_node_register,
            name=self.name,
            url=self.url,
            capacity=self.capacity,
            active_sessions=len(self.sessions) + self._reserved,
        )

    def _heartbeat(self) -> None:
        while not self._stopping.wait(1.0):
            try:
                self._register()
            except Exception:  # noqa: BLE001 - the next beat tries again
                logger.exception("live node %s: registration failed", self.name)

    def call(self, make, timeout: float = 60):
        """Run `make()` (a coroutine or a future, made on the loop thread) and wait for it."""

        async def run():
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    # -- signalling, on HTTP threads --------------------------------------------------------

    def offer(self, body: dict) -> dict:
        session_id, ticket = str(body.get("session_id", "")), str(body.get("ticket", ""))
        sdp, kind = body.get("sdp"), body.get("type", "offer")
        if not isinstance(sdp, str) or kind != "offer":
            raise ApplicationError("Send an SDP offer: {sdp, type: 'offer'}.", code="invalid_offer")
        with self._lock:
            if len(self.sessions) + self._reserved >= self.capacity:
                raise ApplicationError(
                    "No live capacity right now; try again later.",
                    code="no_live_capacity",
                    status_code=503,
                )
            self._reserved += 1
        try:
            started = time.perf_counter()
            admission = _db(
                services.live_session_admit,
                session_id=session_id,
                ticket=ticket,
                node_name=self.name,
            )
            try:
                prepared = _prepare(admission)
            except BaseException as error:
                _db(
                    services.live_session_fail,
                    session_id=session_id,
                    code=getattr(error, "code", "live_setup_failed"),
                    reason="The portrait could not be prepared for live mode.",
                )
                raise
            answer, session = self.call(lambda: self._answer(admission, prepared, sdp))
            session.stats.setup_ms = (time.perf_counter() - started) * 1000
            return {
                "sdp": answer.sdp,
                "type": answer.type,
                "setup_ms": round(session.stats.setup_ms, 1),
            }
        finally:
            with self._lock:
                self._reserved -= 1

    async def _answer(self, admission, prepared, sdp: str):
        session = NodeSession(self, admission, prepared)
        with self._lock:
            self.sessions[session.session_id] = session
        await session.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await session.pc.setLocalDescription(await session.pc.createAnswer())
        asyncio.ensure_future(session.watch())
        return session.pc.localDescription, session

    def stop_session(self, session_id: str) -> dict:
        session = self.sessions.get(session_id)
        if session is None:
            raise ApplicationError(
                "No such session on this node.", code="live_session_unknown", status_code=404
            )
        outcome = self.call(lambda: session.end(publish=True, reason="stopped"), timeout=300)
        return {"status": outcome}

    def release(self, session: NodeSession) -> None:
        with self._lock:
            self.sessions.pop(session.session_id, None)


def _handler_for(node: LiveNode):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args) -> None:  # noqa: A002 - the stdlib's name
            logger.debug("live node http: " + format, *args)

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path == "/health":
                self._answer(
                    200,
                    {"name": node.name, "sessions": len(node.sessions), "capacity": node.capacity},
                )
            else:
                self._answer(404, {"error": {"code": "not_found", "message": "Not found."}})

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    raise ApplicationError(
                        "The request body is too large.", code="body_too_large", status_code=413
                    )
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError as error:
                    raise ApplicationError("The body is not JSON.", code="invalid_json") from error
                if self.path == "/sessions":
                    self._answer(200, node.offer(body))
                elif self.path.startswith("/sessions/") and self.path.endswith("/stop"):
                    self._answer(200, node.stop_session(self.path.split("/")[2]))
                else:
                    raise ApplicationError("Not found.", code="not_found", status_code=404)
            except ApplicationError as error:
                self._answer(
                    error.status_code, {"error": {"code": error.code, "message": error.message}}
                )
            except Exception:  # noqa: BLE001 - one JSON error, the detail in the node's log
                logger.exception("live node: request failed")
                self._answer(
                    500, {"error": {"code": "live_node_error", "message": "The live node failed."}}
                )

    return Handler
