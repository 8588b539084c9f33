from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "detection"

    def ready(self) -> None:
        from .index import connect_publish_hook

        connect_publish_hook()
