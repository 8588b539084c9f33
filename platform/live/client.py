"""A real WebRTC client (aiortc) for the live API: the live benchmark and the tests' client.

It sends an audio file as the microphone (aiortc's MediaPlayer paces it in real time), receives
the talking face, stops the session and reads back its record.

How glass-to-glass is timestamped: every audio frame the client hands to its sender is noted
as (its position in the file, wall time). The node stamps video frame i with RTP time
i x 90000 / fps, i.e. with its place in the audio it received (frame i shows the sound at
(i + 0.5) / fps s). On receipt of a decoded frame the client takes its RTP time relative to the
first frame's, so its index i, and glass-to-glass_i = (wall time the frame was decoded)
- (wall time the audio at (i + 0.5) / fps was sent). So it covers Opus encode, the network,
the node's decode, the viseme look-ahead (60 ms), rendering, VP8 encode and decode; not the
sound card or the screen. The node's frame 0 is the first audio it received: on loopback that
is the client's first packet.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_CLOCK = 90_000
FPS = 25.0


class LiveClientError(Exception):
    def __init__(self, message: str, *, code: str = "live_client_error", status: int = 0):
        super().__init__(message)
        self.code, self.status = code, status


def api_call(url: str, token: str, body: dict | None = None, timeout: float = 300) -> dict:
    """POST (with a body) or GET a JSON API; raise LiveClientError with the API's error."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    if not url.startswith(("http://", "https://")):
        raise LiveClientError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read()).get("error", {})
        except ValueError:
            detail = {}
        raise LiveClientError(
            detail.get("message", f"HTTP {error.code}"),
            code=detail.get("code", "http_error"),
            status=error.code,
        ) from error
    except (urllib.error.URLError, OSError) as error:
        raise LiveClientError(f"cannot reach {url}: {error}", code="unreachable") from error


class TimedAudioTrack(MediaStreamTrack):
    """The file's audio track, noting when each frame goes to the sender."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.source = source
        self.positions: list[float] = []  # seconds into the file, at each frame's start
        self.walls: list[float] = []  # perf_counter when that frame was handed out
        self.ended = asyncio.Event()

    async def recv(self):
        try:
            frame = await self.source.recv()
        except MediaStreamError:
            self.ended.set()
            raise
        self.positions.append(float(frame.pts * frame.time_base))
        self.walls.append(time.perf_counter())
        return frame

    def sent_at(self, position: float) -> float | None:
        """Wall time the audio at `position` s was sent (interpolated within a frame)."""
        if not self.positions or position < self.positions[0]:
            return None
        i = bisect.bisect_right(self.positions, position) - 1
        return self.walls[i] + (position - self.positions[i])


@dataclass
class Received:
    rtp: list[int] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    # The decoded frames themselves, only when asked for (a screen recording of the stream):
    # kept as av.VideoFrame, so nothing is converted while the stream runs.
    frames: list | None = None


async def _receive(track, received: Received, done: asyncio.Event) -> None:
    try:
        while True:
            frame = await track.recv()
            received.walls.append(time.perf_counter())
            received.rtp.append(int(frame.pts))
            if received.frames is not None:
                received.frames.append(frame)
    except MediaStreamError:
        done.set()  # the node ended the stream (revocation, its own limit)


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


async def run_session(
    *,
    base_url: str,
    token: str,
    identity: int,
    audio: str,
    purpose: str = "personal",
    seconds: float | None = None,
    keep_frames: list | None = None,
) -> dict:
    """One live session from offer to published record; returns the benchmark's figures.
    With `keep_frames` (a list), every decoded video frame (av.VideoFrame) is appended to it."""
    pc = RTCPeerConnection()
    player = MediaPlayer(audio)
    if player.audio is None:
        raise LiveClientError(f"{audio} has no audio track", code="invalid_audio")
    microphone = TimedAudioTrack(player.audio)
    pc.addTrack(microphone)
    pc.addTransceiver("video", direction="recvonly")
    received = Received(frames=keep_frames)
    tasks: list[asyncio.Task] = []
    # The session is over for the client when its file has been sent, or when the node ends it
    # (then the sender stops pulling audio and the file never "ends").
    done = asyncio.Event()

    @pc.on("track")
    def on_track(track) -> None:
        if track.kind == "video":
            tasks.append(asyncio.ensure_future(_receive(track, received, done)))

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            done.set()

    async def file_sent() -> None:
        await microphone.ended.wait()
        done.set()

    tasks.append(asyncio.ensure_future(file_sent()))

    try:
        await pc.setLocalDescription(await pc.createOffer())
        created = await asyncio.to_thread(
            api_call,
            f"{base_url}/api/v1/live/sessions",
            token,
            {
                "identity": identity,
                "purpose": purpose,
                "sdp": pc.localDescription.sdp,
                "type": "offer",
            },
        )
        await pc.setRemoteDescription(RTCSessionDescription(**created["answer"]))
        try:
            await asyncio.wait_for(done.wait(), timeout=seconds)
        except TimeoutError:
            pass
        await asyncio.sleep(0.5)  # the frames still in flight for the last audio
        session = await asyncio.to_thread(
            api_call, f"{base_url}/api/v1/live/sessions/{created['id']}/stop", token, {}
        )
    finally:
        for task in tasks:
            task.cancel()
        await pc.close()
        # The player's decoding thread stops only with its own track, not with ours around it;
        # left running, it posts to this loop after asyncio.run has closed it.
        player.audio.stop()
    return measurements(microphone, received, session, created)


def measurements(microphone: TimedAudioTrack, received: Received, session: dict, created: dict):
    """The live benchmark's figures from what was sent and received."""
    indices: list[int] = []
    delays: list[float] = []
    if received.rtp:
        origin = received.rtp[0]
        step = VIDEO_CLOCK / FPS
        for rtp, wall in zip(received.rtp, received.walls, strict=True):
            index = round(((rtp - origin) % 2**32) / step)
            indices.append(index)
            sent = microphone.sent_at((index + 0.5) / FPS)
            if sent is not None:
                delays.append((wall - sent) * 1000)
    span = received.walls[-1] - received.walls[0] if len(received.walls) > 1 else 0.0
    node_sent = int(session.get("frames_sent") or 0)
    expected = max(node_sent, (max(indices) + 1) if indices else 0)
    timings = session.get("timings") or {}
    client_first = None
    if received.walls and microphone.walls:
        client_first = round((received.walls[0] - microphone.walls[0]) * 1000, 1)
    return {
        "first_frame_ms": timings.get("first_frame_ms"),
        "glass_to_glass_ms_p50": _percentile(delays, 50),
        "glass_to_glass_ms_p95": _percentile(delays, 95),
        "fps": round((len(received.walls) - 1) / span, 2) if span > 0 else 0.0,
        "dropped_frames": max(0, expected - len(set(indices))),
        "record_id": session.get("record_id"),
        "frames_received": len(received.walls),
        "client_first_frame_ms": client_first,
        "setup_ms": created.get("setup_ms"),
        "session_id": created.get("id"),
        "status": session.get("status"),
    }
