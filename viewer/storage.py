"""Composition root: the one place that picks the storage backend (``VIEWER_STORE``).

Each backend names, per component, the dotted path of its implementation; apps ask for their
component by name and get one shared instance. Paths are imported lazily, so ``viewer`` does not
import the apps that implement them.
"""

from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from . import metrics
from .statusmap import ContentStatusMap

BACKENDS: dict[str, dict[str, str]] = {
    "sql": {
        "consumption": "consumption.repositories.sql.SqlConsumptionRepository",
        "attempts": "assessments.repositories.sql.SqlAttemptRepository",
        "enrolments": "summaries.repositories.sql.SqlEnrolmentRepository",
        "aggregates": "summaries.repositories.sql.SqlAggregateRepository",
        "status_map": "viewer.statusmap.StoreStatusMap",
    },
    "cassandra": {
        "consumption": "consumption.repositories.cassandra.CassandraConsumptionRepository",
        "attempts": "assessments.repositories.cassandra.CassandraAttemptRepository",
        "enrolments": "summaries.repositories.cassandra.CassandraEnrolmentRepository",
        "aggregates": "summaries.repositories.cassandra.CassandraAggregateRepository",
        "status_map": "viewer.statusmap.RedisStatusMap",
    },
}


# Readiness: the dependencies each backend adds to the relational database (name -> component
# whose ping() is probed).
PROBES: dict[str, dict[str, str]] = {
    "sql": {},
    "cassandra": {"cassandra": "consumption", "redis": "status_map"},
}


def readiness_probes() -> dict[str, Callable[[], None]]:
    """Name -> probe (raises when down) of every dependency the configuration uses: the
    stores, and with a broker configured the broker and at least one live worker."""
    probes: dict[str, Callable[[], None]] = {"database": connection.ensure_connection}
    for name, component_name in PROBES[settings.VIEWER_STORE].items():
        probes[name] = component(component_name).ping
    if settings.CELERY_BROKER_URL:
        probes["broker"] = _broker_probe
        probes["worker"] = _worker_probe
    return probes


def _broker_probe() -> None:
    from celery import current_app

    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=1)


def _worker_probe() -> None:
    from celery import current_app

    _broker_probe()  # no broker, no worker: answer at once instead of retrying to connect
    if not current_app.control.ping(timeout=1.0):
        raise RuntimeError("no Celery worker answered")


def backend_names() -> list[str]:
    return sorted(BACKENDS)


# Every component's calls are timed (viewer_store_call_*), labelled with where they go; the SQL
# store's status map does no I/O of its own and is left alone.
UNTIMED = {("sql", "status_map")}
OWN_BACKEND = {"status_map": "redis"}


@cache
def component(name: str) -> Any:
    """The configured implementation of component ``name`` (one instance per process)."""
    implementation = import_string(BACKENDS[settings.VIEWER_STORE][name])
    if (settings.VIEWER_STORE, name) not in UNTIMED:
        backend = OWN_BACKEND.get(name, settings.VIEWER_STORE)
        implementation = metrics.timed_class(implementation, backend=backend, repository=name)
    return implementation()


def status_map() -> ContentStatusMap:
    return component("status_map")
