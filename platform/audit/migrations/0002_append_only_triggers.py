"""Database-level append-only guards and the single tree-head row."""

from django.db import migrations


def install_triggers(apps, schema_editor):
    from audit import triggers

    triggers.install(schema_editor.connection)


def remove_triggers(apps, schema_editor):
    from audit import triggers

    triggers.remove(schema_editor.connection)


def create_head(apps, schema_editor):
    apps.get_model("audit", "AuditLogHead").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(install_triggers, remove_triggers),
        migrations.RunPython(create_head, migrations.RunPython.noop),
    ]
