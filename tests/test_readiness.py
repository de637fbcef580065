"""GET /ready: names every dependency the configuration uses with its state and latency, and
answers 503 naming the one that is down; with a broker, a live worker must answer a bounded
Celery ping (a real worker process here)."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery import current_app
from django.conf import settings
from django.test import override_settings

from tests import processes
from tests.conftest import Api, require_service
from viewer import storage

CASSANDRA_STORE = settings.VIEWER_STORE == "cassandra"
EXPECTED = ["database", "cassandra", "redis"] if CASSANDRA_STORE else ["database"]


def _checks(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in body["result"]["checks"]}


def test_ready_names_each_dependency_with_state_and_latency(api: Api) -> None:
    status, body = api.get("/ready")
    assert status == 200, body
    assert body["result"]["ready"] is True
    assert [c["name"] for c in body["result"]["checks"]] == EXPECTED
    for check in body["result"]["checks"]:
        assert set(check) == {"name", "status", "latencyMs", "error"}
        assert check["status"] == "up" and check["error"] is None
        assert isinstance(check["latencyMs"], float | int) and 0 <= check["latencyMs"] < 5000


def _break(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make dependency ``name`` fail the way it does when it is down."""
    if name == "database":
        from django.db import OperationalError, connection

        def refused() -> None:
            raise OperationalError("connection refused")

        monkeypatch.setattr(connection, "ensure_connection", refused)
    elif name == "cassandra":
        from cassandra.cluster import NoHostAvailable

        from viewer import cql

        class DownSession:
            def execute(self, *args: Any, **kwargs: Any) -> None:
                raise NoHostAvailable("Unable to connect to any servers", {})

        monkeypatch.setattr(cql, "session", DownSession)
    elif name == "redis":
        import redis

        nowhere = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        monkeypatch.setattr(storage.status_map(), "_client", nowhere)


@pytest.mark.parametrize("down", EXPECTED)
def test_ready_answers_503_naming_the_dependency_down(
    api: Api, monkeypatch: pytest.MonkeyPatch, down: str
) -> None:
    with monkeypatch.context() as patch:  # undone before the test database is torn down
        _break(down, patch)
        status, body = api.get("/ready")
    assert status == 503, body
    assert (body["params"]["err"], body["responseCode"]) == (
        "SERVICE_UNAVAILABLE",
        "SERVICE_UNAVAILABLE",
    )
    assert body["params"]["errmsg"] == f"A dependency is down: {down}."
    checks = _checks(body)
    assert list(checks) == EXPECTED
    assert checks[down]["status"] == "down" and checks[down]["error"]
    assert all(c["status"] == "up" for name, c in checks.items() if name != down)
    assert body["result"]["ready"] is False


@pytest.fixture
def broker() -> Iterator[str]:
    """The suite's Redis as the Celery broker of this process (emptied), for /ready's probes."""
    import redis

    url = settings.REDIS_URL
    try:
        redis.Redis.from_url(url).flushdb()
    except Exception as exc:  # any failure to reach it means the same: no Redis
        require_service(False, f"Redis at {url} does not answer: {exc}")
    old = current_app.conf.broker_url
    _use_broker(url)
    try:
        with override_settings(CELERY_BROKER_URL=url):
            yield url
    finally:
        _use_broker(old)


def _use_broker(url: str) -> None:
    """Point this process's Celery app at ``url``. Its pooled connections (made by earlier tests'
    tasks, for the broker of that time) are dropped: Celery offers no public way to, since a
    real process never changes its broker."""
    current_app.conf.broker_url = url
    current_app._pool = None
    current_app.amqp._producer_pool = None


def test_ready_needs_a_live_worker_when_a_broker_is_configured(api: Api, broker: str) -> None:
    started = time.monotonic()
    status, body = api.get("/ready")
    elapsed = time.monotonic() - started
    checks = _checks(body)
    assert list(checks) == [*EXPECTED, "broker", "worker"]
    assert status == 503, body
    assert body["params"]["errmsg"] == "A dependency is down: worker."
    assert checks["broker"]["status"] == "up"
    assert checks["worker"]["status"] == "down"
    # The ping is bounded (1 s): a missing worker never hangs the probe.
    assert 900 <= checks["worker"]["latencyMs"] < 3000
    assert elapsed < 5

    with processes.running(processes.celery_worker(broker, "ready")):
        processes.wait_for_worker(current_app, "ready")
        status, body = api.get("/ready")
    assert status == 200, body
    checks = _checks(body)
    assert (checks["broker"]["status"], checks["worker"]["status"]) == ("up", "up")
    assert checks["worker"]["latencyMs"] > 0
