"""`python manage.py verify_receipt FILE`: check a downloaded consent receipt offline.

Exit 0 when the signature over the whole receipt is valid and the signing key is this platform's
receipt key (current or retired); exit 1 on any change, an unknown key or an unreadable file.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError

from consent.receipts import public_key_pem_matches, receipt_verify
from core import keys


class Command(BaseCommand):
    help = "Verify a signed consent receipt (JSON file) without network access."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--any-key",
            action="store_true",
            help="Accept a receipt signed by a key this installation does not hold "
            "(checks the embedded key only; anyone can make such a receipt).",
        )

    def handle(self, *args, file: Path, any_key: bool, **options):
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommandError(f"{file}: not a readable JSON receipt ({error})") from error
        check = receipt_verify(document)
        problems = list(check.problems)
        if check.valid and not any_key:
            # The embedded key proves integrity only; the platform's own key store proves origin.
            known = keys.public_key("receipt", check.key_id)
            if known is None:
                problems.append(f"key {check.key_id} is not one of this platform's receipt keys")
            elif not public_key_pem_matches(document, _pem(known)):
                problems.append(f"the embedded key is not this platform's key {check.key_id}")
        if problems:
            raise CommandError(f"{file}: INVALID receipt: " + "; ".join(problems))
        record = document.get("consentRecord", {})
        self.stdout.write(
            f"{file}: valid receipt {check.receipt_id} ({record.get('state')}, grant "
            f"{record.get('grantId')} v{record.get('grantVersion')}), signed by key {check.key_id}"
        )


def _pem(public_key) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
