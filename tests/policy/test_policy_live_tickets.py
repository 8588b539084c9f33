"""Ed25519 live tickets: one session, one consent version, a short window to redeem it."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policy.errors import TicketError
from policy.tickets import (
    LiveTicket,
    issue_live_ticket,
    issue_ticket,
    live_ticket_claims,
    ticket_claims,
    verify_live_ticket,
)

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
PORTRAIT = hashlib.sha256(b"portrait").hexdigest()
KEY = Ed25519PrivateKey.generate()
FORGER = Ed25519PrivateKey.generate()


def claims(**changes):
    base = live_ticket_claims(
        session_id="s-1",
        identity_id=11,
        grant_id=21,
        grant_version=3,
        requester_id=7,
        portrait_sha256=PORTRAIT,
        decision_id="d" * 32,
        policy_version="2026-12.1",
        max_duration_s=300,
        controls={"emotion": "neutral"},
        now=NOW,
    )
    return replace(base, **changes)


def keys(key_id):
    return {"k1": KEY.public_key()}.get(key_id)


def test_a_valid_ticket_gives_back_its_claims():
    ticket = verify_live_ticket(
        issue_live_ticket(claims(), KEY, "k1"), keys, session_id="s-1", now=NOW
    )
    assert isinstance(ticket, LiveTicket)
    assert (ticket.grant_version, ticket.max_duration_s, ticket.key_id) == (3, 300, "k1")
    assert ticket.expires_at - ticket.issued_at == timedelta(minutes=2)


def test_an_expired_ticket_is_refused():
    token = issue_live_ticket(claims(), KEY, "k1")
    with pytest.raises(TicketError) as caught:
        verify_live_ticket(token, keys, session_id="s-1", now=NOW + timedelta(minutes=2))
    assert caught.value.code == "ticket_expired"


def test_a_forged_ticket_is_refused():
    forged = issue_live_ticket(claims(), FORGER, "k1")  # the right key id, the wrong key
    with pytest.raises(TicketError) as caught:
        verify_live_ticket(forged, keys, session_id="s-1", now=NOW)
    assert caught.value.code == "ticket_bad_signature"


def test_changed_claims_break_the_signature():
    header, payload, signature = issue_live_ticket(claims(), KEY, "k1").split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["max_duration_s"] = 3600
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    tampered = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    with pytest.raises(TicketError) as caught:
        verify_live_ticket(f"{header}.{tampered}.{signature}", keys, session_id="s-1", now=NOW)
    assert caught.value.code == "ticket_bad_signature"


def test_a_ticket_for_another_session_is_refused():
    with pytest.raises(TicketError) as caught:
        verify_live_ticket(issue_live_ticket(claims(), KEY, "k1"), keys, session_id="s-2", now=NOW)
    assert caught.value.code == "ticket_session_mismatch"


def test_a_generation_ticket_is_not_a_live_ticket():
    generation = issue_ticket(
        ticket_claims(
            job_id="s-1",
            identity_id=11,
            grant_id=21,
            grant_version=3,
            requester_id=7,
            purpose="live",
            portrait_sha256=PORTRAIT,
            audio_sha256=PORTRAIT,
            decision_id="d" * 32,
            policy_version="p",
            controls={},
            now=NOW,
        ),
        KEY,
        "k1",
    )
    with pytest.raises(TicketError) as caught:
        verify_live_ticket(generation, keys, session_id="s-1", now=NOW)
    assert caught.value.code == "ticket_malformed"


@pytest.mark.parametrize("seconds", [0, 3601])
def test_a_session_length_out_of_range_cannot_be_signed(seconds):
    with pytest.raises(TicketError) as caught:
        issue_live_ticket(claims(max_duration_s=seconds), KEY, "k1")
    assert caught.value.code == "ticket_invalid_claims"
