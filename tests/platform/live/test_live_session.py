"""A real aiortc client against the live API and a real node on loopback: the face arrives,
the recording is published, signed and identified; revocation and capacity end or refuse."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time

import pytest
from django.core.management import call_command

from live.client import LiveClientError, api_call, run_session
from live.models import LiveSession, LiveStatus

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _run(live_server, token, identity, audio, **kwargs):
    """The client on a thread of its own: Playwright's sync API (the browser journey) leaves an
    event loop in the main thread, where asyncio.run refuses to start."""
    result = {}

    def client():
        result["value"] = asyncio.run(
            run_session(
                base_url=live_server.url,
                token=token,
                identity=identity.pk,
                audio=str(audio),
                **kwargs,
            )
        )

    thread = threading.Thread(target=client)
    thread.start()
    thread.join()
    return result["value"]


def test_a_client_gets_the_face_and_the_recording_is_published_and_identified(
    live_server, live_node, live_grant, identity, api_token, live_speech_wav
):
    from audit.models import AuditEvent
    from jobs.models import OutputRecord

    result = _run(live_server, api_token, identity, live_speech_wav)

    assert result["status"] == "ended", result
    assert result["frames_received"] >= 100  # ~6 s at 25 fps
    assert result["fps"] > 15 and result["first_frame_ms"] is not None
    assert result["glass_to_glass_ms_p50"] is not None
    record = OutputRecord.objects.get(pk=result["record_id"])
    assert record.requester_id == live_grant.requesters.get().pk
    assert record.frames >= 100
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "live.started" in actions and "live.ended" in actions

    out = io.StringIO()
    from django.conf import settings

    call_command("detect", str(settings.MEDIA_ROOT / record.file_path), "--json", stdout=out)
    verdict = json.loads(out.getvalue().strip().splitlines()[-1])
    assert verdict["verdict"] == "platform" and verdict["record_id"] == record.pk


def _revoke_mid_session(live_server, live_node, live_grant, identity, owner, api_token, wav):
    """Revoke the grant 2 s into a session; (seconds from revocation to the session's end,
    the client's result)."""
    from consent.services import consent_revoke

    ended = {}

    def revoke_after_two_seconds():
        deadline = time.monotonic() + 20
        while not live_node.sessions and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)
        session = next(iter(live_node.sessions.values()))
        consent_revoke(grant=live_grant, owner=owner)
        revoked_at = time.monotonic()
        while session.ending is None:
            time.sleep(0.01)
        ended["seconds"] = time.monotonic() - revoked_at

    revoker = threading.Thread(target=revoke_after_two_seconds)
    revoker.start()
    result = _run(live_server, api_token, identity, wav)
    revoker.join()
    return ended["seconds"], result


def test_revocation_mid_session_ends_the_stream_within_a_second_and_publishes_nothing(
    live_server, live_node, live_grant, identity, owner, api_token, live_speech_wav
):
    from audit.models import AuditEvent
    from jobs.models import OutputRecord

    seconds, result = _revoke_mid_session(
        live_server, live_node, live_grant, identity, owner, api_token, live_speech_wav
    )

    print(f"revocation to the stream's end: {seconds * 1000:.0f} ms")  # noqa: T201 - with -s
    assert seconds < 1.0
    session = LiveSession.objects.get()
    assert session.status == LiveStatus.TERMINATED and result["record_id"] is None
    assert session.end_reason == "terminated by revocation"
    assert OutputRecord.objects.count() == 0
    assert not list((live_node_media := _media()).rglob("*.mp4")), live_node_media
    event = AuditEvent.objects.get(action="live.terminated")
    assert event.reason == "terminated by revocation" and event.details["frames"] > 0


def test_revocation_is_pushed_to_the_node_without_waiting_for_its_poll(
    live_server, live_node, live_grant, identity, owner, api_token, live_speech_wav, monkeypatch
):
    import live.node_session

    # A poll this slow would end the session 30 s late: only the push can end it in time.
    monkeypatch.setattr(live.node_session, "CHECK_SECONDS", 30.0)

    seconds, _ = _revoke_mid_session(
        live_server, live_node, live_grant, identity, owner, api_token, live_speech_wav
    )

    print(f"revocation to the stream's end, pushed: {seconds * 1000:.0f} ms")  # noqa: T201
    assert seconds < 1.0
    assert LiveSession.objects.get().status == LiveStatus.TERMINATED


def _media():
    from django.conf import settings

    return settings.MEDIA_ROOT


def test_a_full_node_refuses_a_new_session_with_503_and_the_running_one_goes_on(
    live_server, live_node, live_grant, identity, api_token, live_speech_wav
):
    results = {}

    def first():
        results["first"] = _run(live_server, api_token, identity, live_speech_wav)

    runner = threading.Thread(target=first)
    runner.start()
    deadline = time.monotonic() + 30
    while not live_node.sessions and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(LiveClientError) as refused:
        api_call(
            f"{live_server.url}/api/v1/live/sessions",
            api_token,
            {"identity": identity.pk, "purpose": "personal", "sdp": "v=0\r\n", "type": "offer"},
        )
    runner.join()

    assert (refused.value.status, refused.value.code) == (503, "no_live_capacity")
    # The refusal costs the running session nothing it can notice: it is answered before any
    # ticket check or portrait work, and the first session still sends its whole stream.
    first = results["first"]
    assert first["status"] == "ended" and first["frames_received"] >= 50
    assert first["dropped_frames"] <= 2  # every frame the node sent arrived


def test_a_forged_ticket_is_refused_by_the_node(live_node, live_grant, identity, requester):
    from live.services import live_session_create

    session = live_session_create(
        requester=requester, identity=identity, purpose="personal", controls={}
    )
    header, payload, signature = session.ticket.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    from live.signalling import node_post

    status, body = node_post(
        f"{live_node.url}/sessions",
        {"session_id": str(session.public_id), "ticket": forged, "sdp": "v=0\r\n", "type": "offer"},
        30,
    )
    assert (status, body["error"]["code"]) == (403, "ticket_bad_signature")
    session.refresh_from_db()
    assert session.status == LiveStatus.FAILED and not live_node.sessions


def test_an_expired_ticket_is_refused_by_the_node(live_node, live_grant, identity, requester):
    from datetime import timedelta

    from django.utils import timezone

    from live.services import live_session_create

    session = live_session_create(
        requester=requester, identity=identity, purpose="personal", controls={}
    )
    LiveSession.objects.filter(pk=session.pk).update(created_at=timezone.now())
    from unittest import mock

    from live.signalling import node_post

    later = timezone.now() + timedelta(minutes=3)
    with mock.patch("live.services.timezone.now", return_value=later):
        status, body = node_post(
            f"{live_node.url}/sessions",
            {
                "session_id": str(session.public_id),
                "ticket": session.ticket,
                "sdp": "v=0\r\n",
                "type": "offer",
            },
            30,
        )
    assert (status, body["error"]["code"]) == (403, "ticket_expired")
