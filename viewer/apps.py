from django.apps import AppConfig


class ViewerConfig(AppConfig):
    name = "viewer"
    verbose_name = "Viewer kernel and catalogue"

    def ready(self) -> None:
        from . import checks, schema  # noqa: F401  (system checks, the OpenAPI auth extension)
