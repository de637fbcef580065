"""Shared fixtures: an API client that speaks the envelope, and the catalogue of MODES.md."""

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import TestCase
from rest_framework.test import APIClient

from viewer import timeutil

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(available: bool, reason: str) -> None:
    """Skip a test that needs a service outside CI, loudly; under CI=true, fail it."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(f"SKIPPED - NEEDS A SERVICE: {reason} (make test starts it)")


class Api:
    """Posts ``{"request": ...}`` bodies and returns (HTTP status, parsed envelope)."""

    def __init__(self) -> None:
        self.client = APIClient()

    def call(
        self, method: str, path: str, request: Any = None, *, body: Any = None, **extra: Any
    ) -> tuple[int, dict[str, Any]]:
        payload = (
            body if body is not None else ({"request": request} if request is not None else None)
        )
        data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        # The test wraps each test in a transaction; a real request runs in autocommit, where
        # on-commit work (carry-forward, tasks) runs as the request ends: so do it here too.
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = getattr(self.client, method.lower())(
                path,
                data=data if payload is not None else None,
                content_type=extra.pop("content_type", "application/json"),
                **extra,
            )
        return response.status_code, response.json()

    def post(self, path: str, request: Any = None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return self.call("POST", path, request, **kwargs)

    def put(self, path: str, request: Any = None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return self.call("PUT", path, request, **kwargs)

    def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return self.call("GET", path, **kwargs)

    def ok(self, method: str, path: str, request: Any = None) -> dict[str, Any]:
        """The ``result`` of a call that must succeed."""
        status, body = self.call(method, path, request)
        assert status == 200, body
        assert body["params"]["status"] == "success", body
        return body["result"]


_cassandra_problem: str | None = "no Cassandra configured (CASSANDRA_HOSTS is unset)"


@pytest.fixture(scope="session", autouse=True)
def _cassandra_schema(django_db_blocker: Any) -> Iterator[None]:
    """When Cassandra is configured: a fresh test keyspace with every table, made once before
    any test (through ``sync_cassandra``, as an operator would) and dropped at the end."""
    global _cassandra_problem
    if "cassandra" not in settings.DATABASES:
        yield
        return
    from cassandra.cqlengine import management

    from viewer import cql

    keyspace = cql.keyspace()
    assert keyspace.startswith("viewer_test"), keyspace
    with django_db_blocker.unblock():
        try:
            cql.ping()
        except Exception as exc:  # any failure to reach it means the same: no Cassandra
            cause = exc.__cause__ or exc
            _cassandra_problem = f"Cassandra at {settings.CASSANDRA_HOSTS} does not answer: {cause}"
            yield
            return
        management.drop_keyspace(keyspace, connections=[cql.ALIAS])
        call_command("sync_cassandra", database=cql.ALIAS, verbosity=0)
        _cassandra_problem = None
    yield
    management.drop_keyspace(keyspace, connections=[cql.ALIAS])
    # A clean driver shutdown: otherwise its event loop stalls the interpreter's exit.
    cql.session().cluster.shutdown()


@pytest.fixture
def cassandra_keyspace() -> str:
    """The test keyspace; skips (outside CI) or fails (CI=true) without a Cassandra."""
    require_service(_cassandra_problem is None, str(_cassandra_problem))
    from viewer import cql

    return cql.keyspace()


def truncate_cassandra() -> None:
    """Empty every table some test wrote to (a TRUNCATE costs ~0.3 s, a probe ~1 ms)."""
    from viewer import cql

    session, keyspace = cql.session(), cql.keyspace()
    tables = session.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (keyspace,)
    )
    for row in tables:
        table = f"{keyspace}.{row['table_name']}"
        if session.execute(f"SELECT * FROM {table} LIMIT 1").one() is not None:
            session.execute(f"TRUNCATE {table}")


@pytest.fixture
def redis_map() -> Any:
    """The Redis content-status map, on an empty database."""
    from viewer.statusmap import RedisStatusMap

    status_map = RedisStatusMap()
    try:
        status_map.ping()
    except Exception as exc:  # any failure to reach it means the same: no Redis
        require_service(False, f"Redis at {settings.REDIS_URL} does not answer: {exc}")
    status_map._client.flushdb()
    return status_map


@pytest.fixture
def coordinator() -> Iterator[Any]:
    """The recompute coordinator on the suite's real Redis, on an empty database."""
    import redis

    from summaries.coordination import Coordinator

    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except Exception as exc:  # any failure to reach it means the same: no Redis
        require_service(False, f"Redis at {settings.REDIS_URL} does not answer: {exc}")
    client.flushdb()
    yield Coordinator(client)
    client.flushdb()


@pytest.fixture(autouse=True)
def _database(db: None, request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test may use the database; on VIEWER_STORE=cassandra, also a clean keyspace and
    an empty Redis database."""
    if settings.VIEWER_STORE != "cassandra":
        yield
        return
    request.getfixturevalue("cassandra_keyspace")
    request.getfixturevalue("redis_map")
    yield
    truncate_cassandra()


@pytest.fixture
def api() -> Api:
    return Api()


def error_of(status_and_body: tuple[int, dict[str, Any]]) -> tuple[int, str, str]:
    status, body = status_and_body
    assert body["params"]["status"] == "failed", body
    assert body["result"] == {}, body
    return status, body["params"]["err"], body["params"]["errmsg"]


@pytest.fixture
def ms() -> Callable[..., int]:
    """Epoch milliseconds of a UTC datetime given as arguments, e.g. ms(2026, 8, 1)."""
    from datetime import UTC, datetime

    def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
        return timeutil.to_ms(datetime(year, month, day, hour, minute, tzinfo=UTC))  # type: ignore[return-value]

    return _ms


@pytest.fixture
def maths_catalogue(api: Api) -> None:
    """The catalogue of MODES.md's scenario tables."""
    api.ok(
        "PUT",
        "/v1/collection/class-1-maths",
        {
            "name": "Class 1 maths",
            "children": [{"identifier": "SDA"}, {"identifier": "DDA"}, {"identifier": "TDA"}],
        },
    )
    api.ok(
        "PUT",
        "/v1/collection/class-2-maths",
        {
            "name": "Class 2 maths",
            "children": [{"identifier": "SDA"}, {"identifier": "DDA"}],
        },
    )
    for context, collection, kind in [
        ("batch-1", "class-1-maths", "batch"),
        ("batch-2", "class-1-maths", "batch"),
        ("batch-1-c2", "class-2-maths", "batch"),
        ("program-batch-1", "class-1-maths", "program-batch"),
        ("program-abc", "class-1-maths", "program"),
    ]:
        api.ok(
            "PUT",
            f"/v1/context/{context}",
            {
                "type": kind,
                "collectionIds": [collection],
                "startDate": "2026-01-01",
            },
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that run on Cassandra + Redis, so the summary can count them. Tests
    marked ``store_independent`` run in the SQL pass only: the Cassandra pass deselects them
    (they would repeat unchanged), so none of its tests is skipped."""
    if settings.VIEWER_STORE == "cassandra":
        dropped = [item for item in items if item.get_closest_marker("store_independent")]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in dropped]
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_cassandra = (
            settings.VIEWER_STORE == "cassandra"
            or (callspec is not None and callspec.params.get("backend") == "cassandra")
            or item.get_closest_marker("cassandra") is not None
        )
        if on_cassandra:
            item.add_marker(pytest.mark.cassandra)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    counts = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    for outcome in counts:
        for report in terminalreporter.stats.get(outcome, []):
            if "cassandra" in getattr(report, "keywords", {}):
                counts[outcome] += 1
    total = sum(counts.values())
    terminalreporter.write_line(
        f"Cassandra-backed tests: {total} ({counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped, {counts['error']} errors)"
    )
