"""Composition root: the one place that picks the storage backend (``VIEWER_STORE``).

Each backend names, per component, the dotted path of its implementation; apps ask for their
component by name and get one shared instance. Paths are imported lazily, so ``viewer`` does not
import the apps that implement them.
"""

from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .statusmap import ContentStatusMap

BACKENDS: dict[str, dict[str, str]] = {
    "sql": {
        "consumption": "consumption.repositories.sql.SqlConsumptionRepository",
        "status_map": "viewer.statusmap.StoreStatusMap",
    },
}


def backend_names() -> list[str]:
    return sorted(BACKENDS)


@cache
def component(name: str) -> Any:
    """The configured implementation of component ``name`` (one instance per process)."""
    return import_string(BACKENDS[settings.VIEWER_STORE][name])()


def status_map() -> ContentStatusMap:
    return component("status_map")
