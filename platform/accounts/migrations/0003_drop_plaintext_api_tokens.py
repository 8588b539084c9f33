"""API tokens moved to django-rest-knox (hashed, expiring). DRF's authtoken table kept every
token in plaintext; databases made before the move still have it, so it is dropped here and its
holders sign in for a new token."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_organisation_invitations"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
    ]
