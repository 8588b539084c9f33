"""The platform CA and C2PA manifests: trusted, untrusted, tampered and missing are told apart."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from provenance.c2pa_ca import ROOT_KEY, SIGNER_KEY, SigningIdentity, ensure_platform_ca
from provenance.errors import MediaError
from provenance.manifest import (
    DIGITAL_SOURCE_TYPE,
    Ingredient,
    ManifestInfo,
    read_manifest,
    sign_mp4,
)
from provenance.media import probe
from tests.provenance import conftest_media as media_fixtures

# Fixtures shared with test_media.py and test_publish.py (conftest.py is the watermark tests').
small_mp4 = media_fixtures.small_mp4
platform_identity = media_fixtures.platform_identity
other_identity = media_fixtures.other_identity

INFO = ManifestInfo(
    title="clip.mp4",
    record_id=4217,
    consent_receipt_id="receipt-9f2c",
    decision_id="decision-77a1",
    generator_version="vasa-lite 0.1.0",
    ingredients=(
        Ingredient("portrait.png", "ab" * 32, "image/png"),
        Ingredient("speech.wav", "cd" * 32, "audio/wav"),
    ),
)
SOFT_BINDING = ("org.consented-talking-faces.rivagan-256.v1", "0123456789abcdef0123")


@pytest.fixture(scope="module")
def signed_mp4(
    small_mp4: Path, platform_identity: SigningIdentity, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("signed") / "signed.mp4"
    manifest_id = sign_mp4(small_mp4, path, INFO, platform_identity, SOFT_BINDING)
    return path, manifest_id


def test_the_ca_is_created_once_and_loaded_after(tmp_path: Path) -> None:
    first = ensure_platform_ca(tmp_path)
    second = ensure_platform_ca(tmp_path)
    assert first == second


def test_the_ca_keeps_its_private_keys_private(tmp_path: Path) -> None:
    ensure_platform_ca(tmp_path)
    for name in (ROOT_KEY, SIGNER_KEY):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_the_signing_leaf_has_the_extensions_c2pa_needs(platform_identity: SigningIdentity) -> None:
    leaf, root = x509.load_pem_x509_certificates(platform_identity.cert_chain_pem)
    assert leaf.issuer == root.subject != leaf.subject
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    ekus = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(ekus) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)  # raises if absent
    assert platform_identity.root_pem == root.public_bytes(serialization.Encoding.PEM)


def test_a_platform_signed_file_reads_as_trusted(
    signed_mp4: tuple[Path, str], platform_identity: SigningIdentity
) -> None:
    path, manifest_id = signed_mp4
    report = read_manifest(path, platform_identity.root_pem)
    assert report.state == "trusted" and report.codes == ()
    assert report.manifest_id == manifest_id and manifest_id.startswith("urn:c2pa:")


def test_the_manifest_states_how_the_video_was_made(
    signed_mp4: tuple[Path, str], platform_identity: SigningIdentity
) -> None:
    report = read_manifest(signed_mp4[0], platform_identity.root_pem)
    assert report.actions == ("c2pa.created", "c2pa.watermarked")
    assert report.digital_source_type == DIGITAL_SOURCE_TYPE
    assert report.soft_binding == {"alg": SOFT_BINDING[0], "value": SOFT_BINDING[1]}
    assert report.platform == {
        "record_id": "4217",
        "consent_receipt_id": "receipt-9f2c",
        "decision_id": "decision-77a1",
        "generator_version": "vasa-lite 0.1.0",
    }


def test_signing_keeps_the_video_playable(signed_mp4: tuple[Path, str]) -> None:
    info = probe(signed_mp4[0])
    assert (info.frame_count, info.has_audio) == (50, True)


def test_a_file_signed_by_another_ca_reads_as_untrusted(
    small_mp4: Path,
    platform_identity: SigningIdentity,
    other_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.mp4"
    sign_mp4(small_mp4, path, INFO, other_identity, SOFT_BINDING)
    report = read_manifest(path, platform_identity.root_pem)
    assert report.state == "untrusted"
    assert report.codes == ("signingCredential.untrusted",)


def test_flipped_bytes_in_the_video_read_as_tampered(
    signed_mp4: tuple[Path, str], platform_identity: SigningIdentity, tmp_path: Path
) -> None:
    data = bytearray(signed_mp4[0].read_bytes())
    mdat = data.find(b"mdat")
    for offset in range(mdat + 500, mdat + 510):
        data[offset] ^= 0xFF
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    report = read_manifest(tampered, platform_identity.root_pem)
    assert report.state == "tampered"
    assert "assertion.bmffHash.mismatch" in report.codes


def test_an_unsigned_file_reads_as_missing(
    small_mp4: Path, platform_identity: SigningIdentity
) -> None:
    report = read_manifest(small_mp4, platform_identity.root_pem)
    assert (report.state, report.manifest_id) == ("missing", None)


def test_reading_a_manifest_from_non_media_raises_media_error(
    platform_identity: SigningIdentity, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(MediaError):
        read_manifest(junk, platform_identity.root_pem)


def test_a_truncated_signed_file_reads_as_tampered(
    signed_mp4: tuple[Path, str], platform_identity: SigningIdentity, tmp_path: Path
) -> None:
    data = signed_mp4[0].read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    assert read_manifest(truncated, platform_identity.root_pem).state == "tampered"
