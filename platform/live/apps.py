from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"

    def ready(self) -> None:
        # Importing it connects its receiver to consent's grant_revoked signal.
        from . import revocation  # noqa: F401
