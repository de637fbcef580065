from django.apps import AppConfig

# Imported with the app, before any app's ready(): the legacy error codes must be registered in
# the error catalogue before viewer.schema builds the documented code list from it.
from . import errors  # noqa: F401


class LegacyConfig(AppConfig):
    name = "legacy"
    verbose_name = "Legacy (course service) APIs"
