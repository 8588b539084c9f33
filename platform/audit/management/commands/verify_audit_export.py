"""`python manage.py verify_audit_export FILE [--public-key PEM]`: check an export offline.

Exit 0 with a one-line summary when the checkpoint signature and every event's inclusion proof
verify; exit 1 naming the first problem otherwise. With --public-key no database or key store is
read (the audit key is published as var/keys/audit-<key id>.pub).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.exports import verify_export_file


class Command(BaseCommand):
    help = "Verify an audit export (CSV or JSON Lines) against its signed checkpoint."
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--public-key", type=Path, default=None, help="audit public key PEM")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            result = verify_export_file(path, options["public_key"])
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read the export: {error}") from error
        if not result.ok:
            for problem in result.problems[1:10]:
                self.stderr.write(f"  also: {problem}")
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
