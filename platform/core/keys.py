"""The platform key store: Ed25519 signing keys and symmetric secrets, on disk, never in the DB.

Keys live in settings.PLATFORM_KEYS_DIR (var/keys/ by default, or a mounted secret in
production), one PEM file per key with 0600 permissions. Each key has a key id (the first 16 hex
digits of SHA-256 of its raw public key) so keys can rotate while signatures made with older keys
still verify: every key ever used stays in the folder; `<purpose>.current` names the one in use.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from provenance.c2pa_ca import SigningIdentity, ensure_platform_ca

_lock = threading.Lock()


@dataclass(frozen=True)
class SigningKey:
    purpose: str
    key_id: str
    private_key: Ed25519PrivateKey

    def sign(self, message: bytes) -> str:
        """Base64 (standard alphabet) Ed25519 signature of `message`."""
        return base64.b64encode(self.private_key.sign(message)).decode()

    @property
    def public_key_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def key_id_for(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def keys_dir() -> Path:
    path = Path(settings.PLATFORM_KEYS_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _generate(purpose: str) -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    key_id = key_id_for(private_key.public_key())
    directory = keys_dir()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(directory / f"{purpose}-{key_id}.key", pem)
    public = SigningKey(purpose, key_id, private_key).public_key_pem
    (directory / f"{purpose}-{key_id}.pub").write_text(public)
    current = directory / f"{purpose}.current"
    tmp = current.with_suffix(".tmp")
    tmp.write_text(key_id)
    os.replace(tmp, current)
    return SigningKey(purpose, key_id, private_key)


def signing_key(purpose: str) -> SigningKey:
    """The current signing key for `purpose` ("audit", "ticket", "receipt"), made on first use."""
    with _lock:
        current = keys_dir() / f"{purpose}.current"
        if not current.exists():
            return _generate(purpose)
        key_id = current.read_text().strip()
        pem = (keys_dir() / f"{purpose}-{key_id}.key").read_bytes()
        private_key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private_key, Ed25519PrivateKey):
            raise RuntimeError(f"{purpose} key {key_id} is not an Ed25519 key")
        return SigningKey(purpose, key_id, private_key)


def rotate_signing_key(purpose: str) -> SigningKey:
    """Make a new current key for `purpose`; older keys stay to verify old signatures."""
    with _lock:
        return _generate(purpose)


def public_key(purpose: str, key_id: str) -> Ed25519PublicKey | None:
    """The public key `key_id` of `purpose`, current or retired; None if unknown."""
    if not key_id.isalnum():
        return None
    path = keys_dir() / f"{purpose}-{key_id}.pub"
    if not path.exists():
        return None
    key = serialization.load_pem_public_key(path.read_bytes())
    return key if isinstance(key, Ed25519PublicKey) else None


def verify_signature(purpose: str, key_id: str, message: bytes, signature_b64: str) -> bool:
    """True only when `signature_b64` is a valid signature of `message` by that known key."""
    key = public_key(purpose, key_id)
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def secret_bytes(purpose: str, length: int = 32) -> bytes:
    """A symmetric platform secret (e.g. the watermark scrambling key), made on first use."""
    with _lock:
        path = keys_dir() / f"{purpose}.secret"
        if not path.exists():
            _write_private(path, secrets.token_bytes(length))
        return path.read_bytes()


def c2pa_signing_identity() -> SigningIdentity:
    """The platform's C2PA CA and signing leaf (made on first use under the keys folder): what
    publish signs with and what every manifest check trusts."""
    return ensure_platform_ca(keys_dir() / "c2pa")
