"""`python manage.py show_config`: which database and broker this process uses."""

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print the database and Celery broker in use (never any secret)."

    def handle(self, *args, **options):
        self.stdout.write(f"Database: {settings.DATABASE_DESCRIPTION}")
        self.stdout.write(f"Broker:   {settings.CELERY_BROKER_DESCRIPTION}")
        self.stdout.write(f"Keys:     {settings.PLATFORM_KEYS_DIR}")
