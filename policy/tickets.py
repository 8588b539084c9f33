"""Generation tickets: what the policy allowed, signed, so a worker can check it alone.

A ticket is a compact JWS (RFC 7515) signed with Ed25519 ("EdDSA", RFC 8037). It binds the job id,
the identity, the consent grant and its version, the SHA-256 of the exact portrait and audio the
policy saw, the controls and a short expiry. A worker verifies it against the inputs it was handed,
so a swapped file, a replayed ticket for another job, or a stale one is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from policy.errors import TicketError

TICKET_TYPE = "generation-ticket+jws"
DEFAULT_LIFETIME = timedelta(minutes=15)
MAX_LIFETIME = timedelta(minutes=60)  # a ticket is for one run, not a standing permission
CLOCK_SKEW = timedelta(seconds=30)
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class TicketClaims:
    """What a ticket asserts. Times are UTC; hashes are lowercase hex SHA-256."""

    job_id: str
    identity_id: int
    grant_id: int
    grant_version: int
    requester_id: int
    purpose: str
    portrait_sha256: str
    audio_sha256: str
    decision_id: str
    policy_version: str
    issued_at: datetime
    expires_at: datetime
    controls: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationTicket(TicketClaims):
    """A ticket whose signature, expiry and input hashes have been checked."""

    key_id: str = ""


def issue_ticket(claims: TicketClaims, private_key: Ed25519PrivateKey, key_id: str) -> str:
    """Sign `claims` into a compact JWS string. Raises TicketError on impossible claims."""
    _check_claims(claims)
    return _signed(TICKET_TYPE, _claims_to_json(claims), private_key, key_id)


def verify_ticket(
    token: str,
    public_key_for: Callable[[str], Ed25519PublicKey | None],
    *,
    portrait_sha256: str,
    audio_sha256: str,
    job_id: str | int,
    now: datetime,
) -> GenerationTicket:
    """Check signature, validity window, job id and both input hashes; return the claims.

    `public_key_for(key_id)` returns the issuer's public key, or None for an unknown key.
    Raises TicketError with a code naming the first failed check.
    """
    payload, key_id = _verified_payload(token, TICKET_TYPE, "generation", public_key_for)
    claims = _claims_from_json(payload)
    _check_window(claims.issued_at, claims.expires_at, now, "generation")
    if claims.job_id != str(job_id):
        raise TicketError("the ticket was issued for another job", code="ticket_job_mismatch")
    if claims.portrait_sha256 != portrait_sha256.lower():
        raise TicketError(
            "the portrait is not the one the policy saw", code="ticket_portrait_mismatch"
        )
    if claims.audio_sha256 != audio_sha256.lower():
        raise TicketError("the audio is not the one the policy saw", code="ticket_audio_mismatch")
    return GenerationTicket(**asdict(claims), key_id=key_id)


def ticket_claims(
    *,
    job_id: str | int,
    identity_id: int,
    grant_id: int,
    grant_version: int,
    requester_id: int,
    purpose: str,
    portrait_sha256: str,
    audio_sha256: str,
    decision_id: str,
    policy_version: str,
    controls: dict,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> TicketClaims:
    """Claims for a ticket issued `now`, expiring after `lifetime` (minutes, not days)."""
    now = _as_utc(now).replace(microsecond=0)
    return TicketClaims(
        job_id=str(job_id),
        identity_id=identity_id,
        grant_id=grant_id,
        grant_version=grant_version,
        requester_id=requester_id,
        purpose=purpose,
        portrait_sha256=portrait_sha256.lower(),
        audio_sha256=audio_sha256.lower(),
        decision_id=decision_id,
        policy_version=policy_version,
        issued_at=now,
        expires_at=now + lifetime,
        controls=dict(controls),
    )


def _check_claims(claims: TicketClaims) -> None:
    for name in ("portrait_sha256", "audio_sha256"):
        if not _SHA256_HEX.match(getattr(claims, name)):
            raise TicketError(
                f"{name} must be 64 lowercase hex digits", code="ticket_invalid_claims"
            )
    if not claims.job_id:
        raise TicketError("job id is required", code="ticket_invalid_claims")
    lifetime = _as_utc(claims.expires_at) - _as_utc(claims.issued_at)
    if lifetime <= timedelta(0) or lifetime > MAX_LIFETIME:
        raise TicketError(
            f"ticket lifetime must be between 0 and {MAX_LIFETIME.seconds // 60} minutes",
            code="ticket_invalid_claims",
        )


def _claims_to_json(claims: TicketClaims) -> dict:
    data = asdict(claims)
    data["issued_at"] = int(_as_utc(claims.issued_at).timestamp())
    data["expires_at"] = int(_as_utc(claims.expires_at).timestamp())
    return data


def _claims_from_json(data: dict) -> TicketClaims:
    try:
        return TicketClaims(
            job_id=str(data["job_id"]),
            identity_id=int(data["identity_id"]),
            grant_id=int(data["grant_id"]),
            grant_version=int(data["grant_version"]),
            requester_id=int(data["requester_id"]),
            purpose=str(data["purpose"]),
            portrait_sha256=str(data["portrait_sha256"]),
            audio_sha256=str(data["audio_sha256"]),
            decision_id=str(data["decision_id"]),
            policy_version=str(data["policy_version"]),
            issued_at=datetime.fromtimestamp(int(data["issued_at"]), UTC),
            expires_at=datetime.fromtimestamp(int(data["expires_at"]), UTC),
            controls=dict(data.get("controls") or {}),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise TicketError("the ticket's claims are incomplete", code="ticket_malformed") from exc


def _split(token: str) -> tuple[dict, dict, bytes, bytes]:
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16_384:
        raise TicketError("not a generation ticket", code="ticket_malformed")
    header_b64, payload_b64, signature_b64 = token.split(".")
    try:
        header = json.loads(_unb64(header_b64))
        payload = json.loads(_unb64(payload_b64))
        signature = _unb64(signature_b64)
    except (ValueError, binascii.Error) as exc:
        raise TicketError("not a generation ticket", code="ticket_malformed") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TicketError("not a generation ticket", code="ticket_malformed")
    return header, payload, f"{header_b64}.{payload_b64}".encode("ascii"), signature


def _canonical(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise TicketError("times must be timezone-aware", code="ticket_invalid_claims")
    return moment.astimezone(UTC)


# Live tickets: one per live session, checked by the live node before the first frame. A live
# session has no audio file to hash (the audio is the requester speaking), so the ticket binds
# what exists when the policy decides (session, identity, consent version, portrait) and adds
# the session's longest duration, which the node enforces.
LIVE_TICKET_TYPE = "live-ticket+jws"
LIVE_TICKET_LIFETIME = timedelta(minutes=2)  # from decision to the node accepting the offer
MAX_LIVE_SECONDS = 3600


@dataclass(frozen=True)
class LiveTicketClaims:
    """What a live ticket asserts. Times are UTC; the portrait hash is lowercase hex SHA-256."""

    session_id: str
    identity_id: int
    grant_id: int
    grant_version: int  # the consent version the policy saw; the node re-checks it each second
    requester_id: int
    portrait_sha256: str
    decision_id: str
    policy_version: str
    max_duration_s: int
    issued_at: datetime
    expires_at: datetime
    controls: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LiveTicket(LiveTicketClaims):
    """A live ticket whose signature, expiry and session have been checked."""

    key_id: str = ""


def live_ticket_claims(
    *,
    session_id: str,
    identity_id: int,
    grant_id: int,
    grant_version: int,
    requester_id: int,
    portrait_sha256: str,
    decision_id: str,
    policy_version: str,
    max_duration_s: int,
    controls: dict,
    now: datetime,
    lifetime: timedelta = LIVE_TICKET_LIFETIME,
) -> LiveTicketClaims:
    """Claims for a live ticket issued `now`, to be redeemed at a node within `lifetime`."""
    now = _as_utc(now).replace(microsecond=0)
    return LiveTicketClaims(
        session_id=str(session_id),
        identity_id=identity_id,
        grant_id=grant_id,
        grant_version=grant_version,
        requester_id=requester_id,
        portrait_sha256=portrait_sha256.lower(),
        decision_id=decision_id,
        policy_version=policy_version,
        max_duration_s=int(max_duration_s),
        issued_at=now,
        expires_at=now + lifetime,
        controls=dict(controls),
    )


def issue_live_ticket(claims: LiveTicketClaims, private_key: Ed25519PrivateKey, key_id: str) -> str:
    """Sign live `claims` into a compact JWS string. Raises TicketError on impossible claims."""
    if not _SHA256_HEX.match(claims.portrait_sha256):
        raise TicketError(
            "portrait_sha256 must be 64 lowercase hex digits", code="ticket_invalid_claims"
        )
    if not claims.session_id:
        raise TicketError("session id is required", code="ticket_invalid_claims")
    if not 0 < claims.max_duration_s <= MAX_LIVE_SECONDS:
        raise TicketError(
            f"max_duration_s must be in 1..{MAX_LIVE_SECONDS}", code="ticket_invalid_claims"
        )
    lifetime = _as_utc(claims.expires_at) - _as_utc(claims.issued_at)
    if lifetime <= timedelta(0) or lifetime > MAX_LIFETIME:
        raise TicketError("live ticket lifetime is out of range", code="ticket_invalid_claims")
    payload = asdict(claims)
    payload["issued_at"] = int(_as_utc(claims.issued_at).timestamp())
    payload["expires_at"] = int(_as_utc(claims.expires_at).timestamp())
    return _signed(LIVE_TICKET_TYPE, payload, private_key, key_id)


def verify_live_ticket(
    token: str,
    public_key_for: Callable[[str], Ed25519PublicKey | None],
    *,
    session_id: str,
    now: datetime,
) -> LiveTicket:
    """Check the live ticket's type, signature, validity window and session; return its claims.

    A generation ticket is refused here (another `typ`), and a live ticket by `verify_ticket`.
    Raises TicketError with a code naming the first failed check.
    """
    payload, key_id = _verified_payload(token, LIVE_TICKET_TYPE, "live", public_key_for)
    claims = _live_claims_from_json(payload)
    _check_window(claims.issued_at, claims.expires_at, now, "live")
    if claims.session_id != str(session_id):
        raise TicketError(
            "the ticket was issued for another session", code="ticket_session_mismatch"
        )
    return LiveTicket(**asdict(claims), key_id=key_id)


def _live_claims_from_json(data: dict) -> LiveTicketClaims:
    try:
        return LiveTicketClaims(
            session_id=str(data["session_id"]),
            identity_id=int(data["identity_id"]),
            grant_id=int(data["grant_id"]),
            grant_version=int(data["grant_version"]),
            requester_id=int(data["requester_id"]),
            portrait_sha256=str(data["portrait_sha256"]),
            decision_id=str(data["decision_id"]),
            policy_version=str(data["policy_version"]),
            max_duration_s=int(data["max_duration_s"]),
            issued_at=datetime.fromtimestamp(int(data["issued_at"]), UTC),
            expires_at=datetime.fromtimestamp(int(data["expires_at"]), UTC),
            controls=dict(data.get("controls") or {}),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise TicketError(
            "the live ticket's claims are incomplete", code="ticket_malformed"
        ) from exc


def _signed(typ: str, payload: dict, private_key: Ed25519PrivateKey, key_id: str) -> str:
    """A compact JWS of `payload` with header typ `typ`: one signing path for both tickets."""
    if not key_id or not key_id.isalnum():
        raise TicketError(
            "key id must be a non-empty alphanumeric string", code="ticket_invalid_claims"
        )
    header = {"alg": "EdDSA", "typ": typ, "kid": key_id}
    signing_input = _b64(_canonical(header)) + "." + _b64(_canonical(payload))
    return signing_input + "." + _b64(private_key.sign(signing_input.encode("ascii")))


def _verified_payload(
    token: str, typ: str, kind: str, public_key_for: Callable[[str], Ed25519PublicKey | None]
) -> tuple[dict, str]:
    """(payload, key id) of a ticket of type `typ` whose signature checks out."""
    header, payload, signing_input, signature = _split(token)
    if header.get("alg") != "EdDSA" or header.get("typ") != typ:
        raise TicketError(f"not an EdDSA {kind} ticket", code="ticket_malformed")
    key_id = header.get("kid")
    key = public_key_for(key_id) if isinstance(key_id, str) and key_id.isalnum() else None
    if key is None:
        raise TicketError("the ticket was signed with an unknown key", code="ticket_unknown_key")
    try:
        key.verify(signature, signing_input)
    except InvalidSignature as exc:
        raise TicketError(
            "the ticket's signature is not valid", code="ticket_bad_signature"
        ) from exc
    return payload, key_id


def _check_window(issued_at: datetime, expires_at: datetime, now: datetime, kind: str) -> None:
    now = _as_utc(now)
    if now >= expires_at:
        raise TicketError(f"the {kind} ticket has expired", code="ticket_expired")
    if now + CLOCK_SKEW < issued_at:
        raise TicketError(f"the {kind} ticket is not valid yet", code="ticket_not_yet_valid")
