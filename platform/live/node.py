"""The live node: holds WebRTC sessions (aiortc) up to its capacity, registers itself, and
answers signalling over a small HTTP server.

The signalling endpoint is a stdlib ThreadingHTTPServer (the web side forwards to it over
loopback); each request hands a coroutine to the node's one asyncio loop and waits for its
answer. What a session does once admitted is in `node_session.py`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiortc import RTCSessionDescription

from core.errors import ApplicationError
from generator.pipeline import load_models

from . import endings, services
from .node_session import NodeSession, db_call, session_prepare

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # an SDP offer is a few KB


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
        db_call(services.live_node_unregister, name=self.name)

    def _register(self) -> None:
        db_call(
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
            admission = db_call(
                services.live_session_admit,
                session_id=session_id,
                ticket=ticket,
                node_name=self.name,
            )
            try:
                prepared = session_prepare(admission)
            except BaseException as error:
                db_call(
                    endings.live_session_fail,
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
        session = NodeSession(admission, prepared, on_closed=self.release)
        with self._lock:
            self.sessions[session.session_id] = session
        await session.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await session.pc.setLocalDescription(await session.pc.createAnswer())
        session.tasks.append(asyncio.ensure_future(session.watch()))  # cancelled at its end
        return session.pc.localDescription, session

    def stop_session(self, session_id: str) -> dict:
        session = self.sessions.get(session_id)
        if session is None:
            raise ApplicationError(
                "No such session on this node.", code="live_session_unknown", status_code=404
            )
        outcome = self.call(lambda: session.end(publish=True, reason="stopped"), timeout=300)
        return {"status": outcome}

    def recheck_session(self, session_id: str) -> dict:
        """Consent was revoked (the web side says): check it now rather than at the next poll."""
        session = self.sessions.get(session_id)
        if session is None:
            return {"status": "unknown"}
        ended = self.call(session.recheck, timeout=30)
        return {"status": "terminated" if ended else "running"}

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
                elif self.path.startswith("/sessions/") and self.path.endswith("/recheck"):
                    self._answer(200, node.recheck_session(self.path.split("/")[2]))
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
