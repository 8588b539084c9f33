"""The platform's own C2PA certificate authority: a root and one ES256 signing leaf, made once.

The leaf's extensions are the ones this c2pa version was measured to need before it reports a
manifest as `Trusted` against a user trust anchor: KeyUsage digitalSignature, ExtendedKeyUsage
emailProtection (its default trust configuration rejects documentSigning and the C2PA
claimSigning EKU, and anyExtendedKeyUsage), an AuthorityKeyIdentifier, not a CA, issued by (not
equal to) the root, and first in the chain handed to the signer.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenance.errors import SigningError

ROOT_CERT = "root.pem"
ROOT_KEY = "root.key"
SIGNER_CHAIN = "signer_chain.pem"  # leaf first, then the root
SIGNER_KEY = "signer.key"
_LOCK = ".ca.lock"

ROOT_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=730)
# A leaf this close to expiry is replaced on load: without a timestamp authority a manifest
# stops validating once its leaf has expired, so we never sign with one about to.
LEAF_RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class SigningIdentity:
    """What the signer needs (chain and key) and what verifiers need (the root as trust anchor)."""

    cert_chain_pem: bytes  # leaf first, then the root
    private_key_pem: bytes  # PKCS#8 PEM of the leaf's P-256 key
    root_pem: bytes
    key_id: str  # hex SHA-256 of the leaf certificate (DER), first 16 bytes


def _name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_root(organisation: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(organisation, f"{organisation} C2PA Root CA")
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_leaf(
    organisation: str, root: x509.Certificate, root_key: ec.EllipticCurvePrivateKey
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(organisation, f"{organisation} C2PA Signer"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + LEAF_VALIDITY, root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    return cert, key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write via a temporary name so a crash never leaves half a key; keys are born 0600."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # O_CREAT's mode is filtered by the umask; this is not
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _identity(leaf: x509.Certificate, leaf_key_pem: bytes, root_pem: bytes) -> SigningIdentity:
    key_id = leaf.fingerprint(hashes.SHA256()).hex()[:32]
    return SigningIdentity(
        cert_chain_pem=_cert_pem(leaf) + root_pem,
        private_key_pem=leaf_key_pem,
        root_pem=root_pem,
        key_id=key_id,
    )


def ensure_platform_ca(
    directory: str | os.PathLike[str], organisation: str = "Consented Talking Faces"
) -> SigningIdentity:
    """Load the platform CA from `directory`, creating the root and signing leaf on first run.

    A leaf within 30 days of expiry (or past it) is replaced by a new one from the same root, so
    verifiers keep the one trust anchor. Concurrent first runs are serialised with a file lock so
    two workers never write mismatched roots and leaves.
    """
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(folder / _LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return _load_or_create(folder, organisation)
    except OSError as exc:
        raise SigningError(f"cannot prepare the platform CA in {folder}: {exc}") from exc


def _key_matches(cert: x509.Certificate, key_pem: bytes) -> bool:
    """Whether `key_pem` is the private half of `cert` (a crash between writes could split them)."""
    try:
        key = serialization.load_pem_private_key(key_pem, None)
    except ValueError:
        return False
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    return key.public_key().public_bytes(encoding, public) == cert.public_key().public_bytes(
        encoding, public
    )


def _load_or_create(folder: Path, organisation: str) -> SigningIdentity:
    root_cert_path, root_key_path = folder / ROOT_CERT, folder / ROOT_KEY
    chain_path, leaf_key_path = folder / SIGNER_CHAIN, folder / SIGNER_KEY
    if root_cert_path.exists() and root_key_path.exists():
        root_pem = root_cert_path.read_bytes()
        try:
            root = x509.load_pem_x509_certificate(root_pem)
            root_key = serialization.load_pem_private_key(root_key_path.read_bytes(), None)
        except ValueError as exc:
            raise SigningError(f"unreadable platform root in {folder}: {exc}") from exc
        if not isinstance(root_key, ec.EllipticCurvePrivateKey):
            raise SigningError("the platform root key is not an EC key")
    else:
        root, root_key = _make_root(organisation)
        root_pem = _cert_pem(root)
        _write_atomically(root_key_path, _key_pem(root_key), 0o600)
        _write_atomically(root_cert_path, root_pem, 0o644)
        chain_path.unlink(missing_ok=True)  # a leaf from an older root must not survive

    if chain_path.exists() and leaf_key_path.exists():
        chain = x509.load_pem_x509_certificates(chain_path.read_bytes())
        leaf_key_pem = leaf_key_path.read_bytes()
        leaf = chain[0]
        fresh = leaf.not_valid_after_utc - dt.datetime.now(dt.UTC) > LEAF_RENEW_BEFORE
        if fresh and leaf.issuer == root.subject and _key_matches(leaf, leaf_key_pem):
            return _identity(leaf, leaf_key_pem, root_pem)

    leaf, leaf_key = _make_leaf(organisation, root, root_key)
    leaf_key_pem = _key_pem(leaf_key)
    _write_atomically(leaf_key_path, leaf_key_pem, 0o600)
    _write_atomically(chain_path, _cert_pem(leaf) + root_pem, 0o644)
    return _identity(leaf, leaf_key_pem, root_pem)
