from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "detection"

    def ready(self) -> None:
        # index imports the models, which Django loads only after every app's config.
        from .index import connect_publish_hook

        connect_publish_hook()
