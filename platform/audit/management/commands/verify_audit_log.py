"""`python manage.py verify_audit_log`: exit 0 with a one-line summary, or 1 naming what is bad."""

from django.core.management.base import BaseCommand, CommandError

from audit.actions import AuditAction
from audit.services import audit_record, audit_verification_note
from audit.verification import verify_audit_log


class Command(BaseCommand):
    help = "Recompute every audit leaf, the Merkle tree and every checkpoint signature."

    def handle(self, *args, **options):
        report = verify_audit_log()
        audit_verification_note(ok=report.ok)
        if not report.ok:
            audit_record(
                action=AuditAction.AUDIT_VERIFICATION_FAILED,
                outcome="error",
                reason=report.problems[0],
                details={"problems": report.problems[:20]},
            )
            for problem in report.problems[1:10]:
                self.stderr.write(f"  also: {problem}")
            raise CommandError(report.summary())
        self.stdout.write(report.summary())
