"""`python manage.py audit_maintenance`: the periodic checkpoint + whole-log verification, for cron.

Crontab line (every 5 minutes; exit status 1 when the log fails to verify, so cron mails it):
    */5 * * * * cd /srv/app && .venv/bin/python manage.py audit_maintenance
"""

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_periodic_check


class Command(BaseCommand):
    help = "Sign a due audit checkpoint, re-verify the whole log, record an alert on failure."

    def handle(self, *args, **options):
        checkpoint, ok = audit_periodic_check()
        if checkpoint is not None:
            self.stdout.write(f"checkpoint at size {checkpoint.tree_size}")
        if not ok:
            raise CommandError(
                "audit log verification FAILED: an audit.verification_failed event was recorded"
            )
        self.stdout.write("audit log verified")
