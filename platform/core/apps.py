from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def _create_cache_table(sender, using, **kwargs) -> None:
    # The database cache's table is no model, so no migration makes it: every `migrate` (make
    # run's prepare step, the test database, a server test's fresh var/) creates it if missing.
    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform core"

    def ready(self) -> None:
        # No sender: post_migrate is sent only for apps with models, and core has none. The
        # command is idempotent, so running it once per migrated app costs a table lookup each.
        post_migrate.connect(_create_cache_table, dispatch_uid="core.create_cache_table")
