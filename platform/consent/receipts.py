"""Signed consent receipts: build, sign and verify (verification needs no database or network).

The document follows the Kantara Consent Receipt Specification v1.1 field names, with the
record-level fields of ISO/IEC TS 27560 (record id, state, event, scope, retention, withdrawal
method) under "consentRecord". The `proof` carries the Ed25519 signature, the key id and the
public key, so anyone holding the file can check that no byte of meaning changed since signing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

RECEIPT_VERSION = "KI-CR-v1.1.0"
PROOF_TYPE = "Ed25519Signature2026"
CANONICALISATION = "JSON, keys sorted, separators (',', ':'), UTF-8, proof.signature omitted"


def canonical_bytes(document: dict) -> bytes:
    """The signed bytes: the whole document with `proof.signature` left out."""
    unsigned = dict(document)
    proof = dict(unsigned.get("proof") or {})
    proof.pop("signature", None)
    unsigned["proof"] = proof
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def receipt_sign(document: dict, *, key) -> dict:
    """Add the proof (type, key id, public key PEM, signature), signed with `key`
    (a core.keys.SigningKey)."""
    signed = dict(document)
    signed["proof"] = {
        "type": PROOF_TYPE,
        "keyId": key.key_id,
        "publicKeyPem": key.public_key_pem,
        "canonicalisation": CANONICALISATION,
    }
    signed["proof"]["signature"] = key.sign(canonical_bytes(signed))
    return signed


def document_sha256(document: dict) -> str:
    return hashlib.sha256(canonical_bytes(document) + b"|" + _signature(document)).hexdigest()


@dataclass(frozen=True)
class ReceiptCheck:
    valid: bool
    problems: list[str]
    key_id: str = ""
    receipt_id: str = ""


def receipt_verify(document: object) -> ReceiptCheck:
    """Check a receipt alone: well-formed, key id matches the embedded key, signature valid."""
    if not isinstance(document, dict):
        return ReceiptCheck(False, ["not a JSON object"])
    proof = document.get("proof")
    if not isinstance(proof, dict):
        return ReceiptCheck(False, ["no proof: the receipt is unsigned"])
    problems: list[str] = []
    receipt_id = str(document.get("consentReceiptID", ""))
    key_id = str(proof.get("keyId", ""))
    if proof.get("type") != PROOF_TYPE:
        problems.append(f"unknown proof type {proof.get('type')!r}")
    if document.get("version") != RECEIPT_VERSION:
        problems.append(f"unknown receipt version {document.get('version')!r}")
    try:
        public_key = serialization.load_pem_public_key(str(proof.get("publicKeyPem", "")).encode())
    except ValueError:
        return ReceiptCheck(False, [*problems, "the embedded public key is unreadable"], key_id)
    if not isinstance(public_key, Ed25519PublicKey):
        return ReceiptCheck(False, [*problems, "the embedded key is not Ed25519"], key_id)
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if hashlib.sha256(raw).hexdigest()[:16] != key_id:
        problems.append("the key id does not match the embedded public key")
    try:
        public_key.verify(_signature(document), canonical_bytes(document))
    except (InvalidSignature, ValueError):
        problems.append("the signature does not match the content: the receipt was changed")
    return ReceiptCheck(not problems, problems, key_id, receipt_id)


def public_key_pem_matches(document: dict, known_pem: str) -> bool:
    """Whether the receipt's embedded key is `known_pem` (compared as keys, not as text)."""
    try:
        embedded = serialization.load_pem_public_key(document["proof"]["publicKeyPem"].encode())
        known = serialization.load_pem_public_key(known_pem.encode())
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    encoding, fmt = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    return embedded.public_bytes(encoding, fmt) == known.public_bytes(encoding, fmt)


def _signature(document: dict) -> bytes:
    try:
        return base64.b64decode(str(document["proof"]["signature"]), validate=True)
    except (KeyError, TypeError, ValueError):
        return b""
