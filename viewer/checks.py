"""System checks of the kernel's settings."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .storage import backend_names


@register()
def check_store_setting(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.VIEWER_STORE in backend_names():
        return []
    return [
        Error(
            f"VIEWER_STORE={settings.VIEWER_STORE!r} is not a storage backend.",
            hint=f"One of: {', '.join(backend_names())}.",
            id="viewer.E001",
        )
    ]
