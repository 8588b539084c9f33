from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        # Importing them connects their receivers to consent's signals.
        from . import erasure, revocation  # noqa: F401
