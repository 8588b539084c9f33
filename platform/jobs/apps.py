from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        from . import erasure  # noqa: F401 - connects the biometric-deletion receiver
