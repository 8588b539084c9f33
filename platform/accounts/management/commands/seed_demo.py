"""`python manage.py seed_demo`: one demo account per role, printed with its password."""

from django.core.management.base import BaseCommand

from accounts.services import demo_accounts_seed


class Command(BaseCommand):
    help = "Create or refresh the demo accounts (one per role) and print their passwords."

    def handle(self, *args, **options):
        rows = demo_accounts_seed()
        self.stdout.write("Demo accounts (username / role / password):")
        for username, role, password in rows:
            self.stdout.write(f"  {username:16} {role:10} {password}")
