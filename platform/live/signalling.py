"""The web side of signalling: pick a registered node and forward the offer to it, so the
browser talks to one origin over plain HTTP (WHIP-style) and never to a node directly."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from core.errors import ApplicationError

from . import endings, selectors
from .models import LiveSession

FORWARD_TIMEOUT_S = 30  # the node analyses the portrait and marks it before answering

NO_CAPACITY = ApplicationError(
    "No live capacity right now; try again later.", code="no_live_capacity", status_code=503
)


def node_post(url: str, body: dict, timeout: float) -> tuple[int, dict]:
    """POST JSON to a node; (status, JSON body), whatever the status."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) node url: {url}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our node
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except ValueError:
            return error.code, {}


def live_offer_forward(*, session: LiveSession, sdp: str, kind: str) -> dict:
    """The node's SDP answer for the session's offer. A full node is skipped; when every node
    is full (or none is up) the session fails with no_live_capacity (503)."""
    for node in selectors.live_nodes_with_room():
        try:
            status, body = node_post(
                f"{node.url}/sessions",
                {
                    "session_id": str(session.public_id),
                    "ticket": session.ticket,
                    "sdp": sdp,
                    "type": kind,
                },
                FORWARD_TIMEOUT_S,
            )
        except (urllib.error.URLError, OSError, ValueError):
            continue  # a node that went away: try the next one
        if status == 200:
            return body
        error = body.get("error") or {}
        if status == 503:
            continue
        raise ApplicationError(
            error.get("message", "The live node refused the session."),
            code=error.get("code", "live_node_error"),
            status_code=status if 400 <= status < 600 else 502,
        )
    endings.live_session_fail(
        session_id=str(session.public_id), code=NO_CAPACITY.code, reason=NO_CAPACITY.message
    )
    raise NO_CAPACITY


def live_stop_forward(*, session: LiveSession) -> dict:
    """Ask the session's node to stop it; returns once the recording is published (or not)."""
    if session.node is None or session.is_final:
        return {"status": session.status}
    try:
        status, body = node_post(f"{session.node.url}/sessions/{session.public_id}/stop", {}, 300)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ApplicationError(
            "The live node did not answer.", code="live_node_unreachable", status_code=502
        ) from error
    if status != 200 and status != 404:
        error = body.get("error") or {}
        raise ApplicationError(
            error.get("message", "The stop failed."),
            code=error.get("code", "live_node_error"),
            status_code=502,
        )
    return body
