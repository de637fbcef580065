"""Shared plumbing of the Cassandra repositories: the session, prepared statements,
consistency levels, and the translation of driver failures into ``StoreUnavailableError``.

Sessions are per process and made lazily (``lazy_connect``), so a process forked after startup
(gunicorn worker, Celery prefork child) connects on first use; ``reconnect()`` is for a process
that forked after it had already connected (Celery's ``worker_process_init``).
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from .errors import StoreUnavailableError

logger = logging.getLogger(__name__)
ALIAS = "cassandra"

_prepared: dict[str, Any] = {}
_session: Any = None
_connect_lock = threading.Lock()


def _unavailable_types() -> tuple[type[BaseException], ...]:
    from cassandra import DriverException, RequestExecutionException
    from cassandra.cluster import NoHostAvailable
    from cassandra.connection import ConnectionException
    from cassandra.cqlengine import CQLEngineException

    return (
        DriverException,
        RequestExecutionException,
        NoHostAvailable,
        ConnectionException,
        CQLEngineException,
        OSError,
    )


@contextmanager
def store_errors() -> Iterator[None]:
    """Raises: StoreUnavailableError for an unreachable, overloaded or timed-out cluster."""
    from cassandra import RequestValidationException

    try:
        yield
    except RequestValidationException:
        raise  # a bad statement or schema is a bug (500), not an outage
    except _unavailable_types() as exc:
        logger.warning("cassandra unavailable: %s", type(exc).__name__)
        raise StoreUnavailableError() from exc


def session() -> Any:
    """The process's session, connected on first use. The first use is serialized: the driver's
    lazy connect is not thread-safe (concurrent first calls could get no session)."""
    global _session
    if _session is None:
        with _connect_lock:
            if _session is None:
                from cassandra.cqlengine import connection

                _session = connection.get_session(connection=ALIAS)
    return _session


def keyspace() -> str:
    return str(settings.DATABASES[ALIAS]["NAME"])


def consistency(name: str) -> int:
    from cassandra import ConsistencyLevel

    return int(ConsistencyLevel.name_to_value[name])


def prepare(cql: str) -> Any:
    """A prepared statement for ``cql`` (``{ks}`` is the keyspace), cached per process.

    Writes carry the configured write and serial consistency, reads the read consistency.
    """
    statement = _prepared.get(cql)
    if statement is None:
        statement = session().prepare(cql.format(ks=keyspace()))
        is_write = cql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        statement.consistency_level = consistency(
            settings.CASSANDRA_WRITE_CONSISTENCY
            if is_write
            else settings.CASSANDRA_READ_CONSISTENCY
        )
        statement.serial_consistency_level = consistency(settings.CASSANDRA_SERIAL_CONSISTENCY)
        _prepared[cql] = statement
    return statement


def execute(cql: str, params: tuple[Any, ...]) -> Any:
    with store_errors():
        return session().execute(prepare(cql), params)


def execute_many(cql: str, param_sets: list[tuple[Any, ...]]) -> list[Any]:
    """Run one prepared statement with several parameter sets concurrently."""
    with store_errors():
        statement = prepare(cql)
        futures = [session().execute_async(statement, params) for params in param_sets]
        return [future.result() for future in futures]


def execute_conditional_batch(statements: list[tuple[str, tuple[Any, ...]]]) -> bool:
    """Run prepared statements as one conditional batch (they must share one partition):
    applied all together, isolated, or not at all. True when applied."""
    from cassandra.query import BatchStatement, BatchType

    with store_errors():
        batch = BatchStatement(
            batch_type=BatchType.LOGGED,
            consistency_level=consistency(settings.CASSANDRA_WRITE_CONSISTENCY),
            serial_consistency_level=consistency(settings.CASSANDRA_SERIAL_CONSISTENCY),
        )
        for cql_text, params in statements:
            batch.add(prepare(cql_text), params)
        return bool(session().execute(batch).was_applied)


def aware(value: datetime | None) -> datetime | None:
    """The driver returns naive UTC datetimes."""
    return None if value is None else value.replace(tzinfo=UTC)


def ping() -> None:
    with store_errors():
        session().execute("SELECT release_version FROM system.local")


def shutdown() -> None:
    """Close this process's session, if it connected: a clean driver shutdown, so a process
    exits at once instead of waiting ~5 s for the driver's event loop thread."""
    global _session
    if _session is not None:
        _session.cluster.shutdown()
        _session = None
        _prepared.clear()


def reconnect() -> None:
    """Drop the sessions inherited from a parent process; the next use connects anew."""
    from django.db import connections

    global _session
    _prepared.clear()
    _session = None
    if ALIAS in settings.DATABASES:
        wrapper: Any = connections[ALIAS]  # django-cassandra-engine's DatabaseWrapper
        wrapper.reconnect()
