"""Signed consent receipts: the fields, and `verify_receipt` catching any change."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from consent.receipts import receipt_verify
from consent.selectors import receipt_for_grant
from core.keys import rotate_signing_key

pytestmark = pytest.mark.django_db

KANTARA_FIELDS = {
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "language",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "sensitive",
    "spiCat",
}


@pytest.fixture
def receipt_file(active_grant, tmp_path):
    document = receipt_for_grant(grant=active_grant).document
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(document, indent=2))
    return path


def test_the_receipt_has_the_consent_receipt_fields(active_grant):
    document = receipt_for_grant(grant=active_grant).document
    assert KANTARA_FIELDS <= document.keys()
    record = document["consentRecord"]
    assert record["state"] == "given"
    assert record["withdrawalMethod"]["url"].endswith(f"/consent/grants/{active_grant.pk}/revoke/")
    assert record["retention"]
    purpose = document["services"][0]["purposes"][0]
    assert purpose["purposeCategory"] == ["news_explainer"]
    assert purpose["thirdPartyDisclosure"] is True
    assert "Facial biometric template (dlib face descriptor)" in purpose["piiCategory"]
    assert document["proof"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert receipt_verify(document).valid


def test_verify_receipt_accepts_an_untouched_receipt(receipt_file, capsys):
    call_command("verify_receipt", str(receipt_file))
    assert "valid receipt" in capsys.readouterr().out


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["consentRecord"]["scope"].update(allowDownload=True),
        lambda d: d["consentRecord"].update(state="withdrawn"),
        lambda d: d["services"][0]["purposes"][0].update(purposeCategory=["marketing"]),
        lambda d: d.update(jurisdiction="US"),
        lambda d: d["proof"].update(signature=d["proof"]["signature"][:-4] + "AAA="),
        lambda d: d.pop("spiCat"),
    ],
    ids=["scope", "state", "purpose", "jurisdiction", "signature", "removed-field"],
)
def test_verify_receipt_exits_non_zero_on_any_change(receipt_file, tamper):
    document = json.loads(receipt_file.read_text())
    tamper(document)
    receipt_file.write_text(json.dumps(document))
    with pytest.raises(CommandError, match="INVALID"):
        call_command("verify_receipt", str(receipt_file))


def test_verify_receipt_refuses_a_receipt_re_signed_with_another_key(receipt_file):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from consent.receipts import receipt_sign
    from core.keys import SigningKey, key_id_for

    forger = Ed25519PrivateKey.generate()
    document = json.loads(receipt_file.read_text())
    document["consentRecord"]["scope"]["allowDownload"] = True
    forged = receipt_sign(
        document, key=SigningKey("receipt", key_id_for(forger.public_key()), forger)
    )
    assert receipt_verify(forged).valid  # self-consistent...
    receipt_file.write_text(json.dumps(forged))
    with pytest.raises(CommandError, match="not one of this platform's receipt keys"):
        call_command("verify_receipt", str(receipt_file))  # ...but not ours


def test_a_receipt_still_verifies_after_key_rotation(receipt_file):
    signed_by = json.loads(receipt_file.read_text())["proof"]["keyId"]
    assert rotate_signing_key("receipt").key_id != signed_by
    out = io.StringIO()
    call_command("verify_receipt", str(receipt_file), stdout=out)
    assert "valid receipt" in out.getvalue()
    assert f"signed by key {signed_by}" in out.getvalue()  # the retired key, still trusted


def test_verify_receipt_from_the_command_line_exits_one(receipt_file, settings):
    import os
    import subprocess
    import sys

    document = json.loads(receipt_file.read_text())
    document["consentRecord"]["grantVersion"] = 9
    receipt_file.write_text(json.dumps(document))
    env = dict(os.environ, PLATFORM_KEYS_DIR=str(settings.PLATFORM_KEYS_DIR))
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_receipt", str(receipt_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    assert "INVALID" in result.stderr
