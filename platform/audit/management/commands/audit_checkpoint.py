"""`python manage.py audit_checkpoint [--force]`: sign a checkpoint when one is due (cron/beat)."""

from django.core.management.base import BaseCommand

from audit.services import audit_checkpoint_write


class Command(BaseCommand):
    help = "Write a signed audit checkpoint if events are waiting (every 5 minutes from cron)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="sign even if not yet due")

    def handle(self, *args, **options):
        checkpoint = audit_checkpoint_write(force=options["force"])
        if checkpoint is None:
            self.stdout.write("no checkpoint due")
        else:
            self.stdout.write(
                f"checkpoint at size {checkpoint.tree_size}, root {checkpoint.root_hash[:16]}…"
            )
