from django.apps import AppConfig


class ModesConfig(AppConfig):
    name = "modes"
    verbose_name = "Tracking modes"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401  (registers checks and receivers)
