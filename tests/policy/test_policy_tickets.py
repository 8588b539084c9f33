"""Ed25519 generation tickets: issued on allow, refused on any change."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from policy.errors import PolicyError, TicketError
from policy.tickets import GenerationTicket, issue_ticket, ticket_claims, verify_ticket

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PORTRAIT = hashlib.sha256(b"portrait").hexdigest()
AUDIO = hashlib.sha256(b"audio").hexdigest()
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def claims(**changes):
    base = ticket_claims(
        job_id=42,
        identity_id=11,
        grant_id=21,
        grant_version=2,
        requester_id=7,
        purpose="news_explainer",
        portrait_sha256=PORTRAIT,
        audio_sha256=AUDIO,
        decision_id="d" * 32,
        policy_version="2026-11.1",
        controls={"emotion": "neutral", "intensity": 1.0},
        now=NOW,
    )
    return replace(base, **changes)


def keys(key_id):
    return {"k1": KEY.public_key(), "k2": OTHER_KEY.public_key()}.get(key_id)


def verify(token, **changes):
    arguments = {
        "portrait_sha256": PORTRAIT,
        "audio_sha256": AUDIO,
        "job_id": 42,
        "now": NOW + timedelta(minutes=1),
    }
    arguments.update(changes)
    return verify_ticket(token, keys, **arguments)


def test_it_verifies_a_ticket_bound_to_the_inputs():
    ticket = verify(issue_ticket(claims(), KEY, "k1"))
    assert isinstance(ticket, GenerationTicket)
    assert ticket.key_id == "k1"
    assert (ticket.job_id, ticket.identity_id, ticket.grant_version) == ("42", 11, 2)
    assert ticket.controls == {"emotion": "neutral", "intensity": 1.0}
    assert ticket.expires_at == NOW + timedelta(minutes=15)


def _resign_payload(token, mutate):
    header, payload, _ = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    mutate(data)
    body = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{token.split('.')[2]}"


TOKEN = issue_ticket(claims(), KEY, "k1")
REFUSALS = [
    ("ticket_malformed", "not-a-ticket", {}),
    ("ticket_malformed", "a.b.c", {}),
    ("ticket_unknown_key", issue_ticket(claims(), KEY, "k9"), {}),
    ("ticket_bad_signature", issue_ticket(claims(), OTHER_KEY, "k1"), {}),
    (
        "ticket_bad_signature",
        _resign_payload(TOKEN, lambda data: data.update(grant_version=3)),
        {},
    ),
    (
        "ticket_bad_signature",
        _resign_payload(TOKEN, lambda data: data.update(expires_at=data["expires_at"] + 9999)),
        {},
    ),
    ("ticket_expired", TOKEN, {"now": NOW + timedelta(minutes=15)}),
    ("ticket_not_yet_valid", TOKEN, {"now": NOW - timedelta(minutes=5)}),
    ("ticket_job_mismatch", TOKEN, {"job_id": 43}),
    ("ticket_portrait_mismatch", TOKEN, {"portrait_sha256": hashlib.sha256(b"x").hexdigest()}),
    ("ticket_audio_mismatch", TOKEN, {"audio_sha256": hashlib.sha256(b"y").hexdigest()}),
]


@pytest.mark.parametrize(
    ("code", "token", "changes"), REFUSALS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(REFUSALS)]
)
def test_it_refuses_with_the_code(code, token, changes):
    with pytest.raises(TicketError) as raised:
        verify(token, **changes)
    assert raised.value.code == code
    assert isinstance(raised.value, PolicyError)


def test_it_refuses_to_issue_a_ticket_lasting_days():
    with pytest.raises(TicketError) as raised:
        issue_ticket(claims(expires_at=NOW + timedelta(days=2)), KEY, "k1")
    assert raised.value.code == "ticket_invalid_claims"


def test_it_refuses_to_issue_a_ticket_without_real_hashes():
    with pytest.raises(TicketError) as raised:
        issue_ticket(claims(portrait_sha256="abc"), KEY, "k1")
    assert raised.value.code == "ticket_invalid_claims"


def test_an_unsigned_alg_none_ticket_is_refused():
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"generation-ticket+jws","kid":"k1"}')
    _, payload, _ = TOKEN.split(".")
    forged = header.rstrip(b"=").decode() + "." + payload + "."
    with pytest.raises(TicketError) as raised:
        verify(forged)
    assert raised.value.code == "ticket_malformed"
