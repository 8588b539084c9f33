"""`python manage.py verify_audit_log`: exit 0 with a one-line summary, or 1 naming what is bad."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_log_verify


class Command(BaseCommand):
    help = "Recompute every audit leaf, the Merkle tree and every checkpoint signature."

    def handle(self, *args, **options):
        report = audit_log_verify()
        if not report.ok:
            for problem in report.problems[1:10]:
                self.stderr.write(f"  also: {problem}")
            raise CommandError(report.summary())
        self.stdout.write(report.summary())
