"""Nothing in flight is lost when a process stops: Celery workers acknowledge a task only after
it ran and reserve one at a time, so a killed worker's task runs again; a worker (Celery warm
shutdown) and the web (gunicorn's graceful timeout) finish what they are doing on SIGTERM.

Real processes on the suite's Redis; they do not touch the store, so they run in the SQL pass
only (the Cassandra pass would repeat them unchanged)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.conf import settings

from config.celery import app
from tests import processes
from tests.conftest import require_service

pytestmark = pytest.mark.store_independent


def test_celery_workers_ack_late_with_prefetch_one() -> None:
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_reject_on_worker_lost is True
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    assert ours and all(task.acks_late for task in ours), [t.name for t in ours]
    # A message held for a countdown (webhook retries, at most 600 s) must not be handed out a
    # second time while a live worker holds it.
    assert app.conf.broker_transport_options["visibility_timeout"] > 600


@pytest.fixture
def broker() -> Iterator[str]:
    """The suite's Redis as the workers' broker, emptied before and after."""
    url = settings.REDIS_URL
    try:
        redis.Redis.from_url(url).flushdb()
    except Exception as exc:  # any failure to reach it means the same: no Redis
        require_service(False, f"Redis at {url} does not answer: {exc}")
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def client(broker: str) -> Celery:
    # Not the current app: the rest of the suite keeps running tasks eagerly.
    return Celery(broker=broker, set_as_current=False)


def _runs(broker: str, token: str) -> list[str]:
    client = redis.Redis.from_url(broker, decode_responses=True)
    return [str(message) for message in client.lrange(f"slow:{token}", 0, -1)]


def _started_pid(broker: str, token: str) -> int:
    def started() -> int | None:
        starts = [m for m in _runs(broker, token) if m.startswith("start:")]
        return int(starts[0].split(":")[1]) if starts else None

    return int(processes.poll(started, timeout=60, what="the task's start"))


def _done(broker: str, token: str) -> list[str]:
    return list(
        processes.poll(
            lambda: (r := _runs(broker, token)) and r[-1] == "done" and r,
            timeout=60,
            what="the task done",
        )
    )


def _nothing_pending(broker: str) -> None:
    client = redis.Redis.from_url(broker)
    assert client.llen("celery") == 0
    assert client.hlen("unacked") == 0


def test_worker_pool_process_killed_mid_task_runs_it_again(broker: str, client: Celery) -> None:
    with processes.running(processes.celery_worker(broker, "pool", pool="prefork")) as worker:
        processes.wait_for_worker(client, "pool")
        token = uuid.uuid4().hex
        client.send_task("tests.slow_task", args=[token, 30.0])
        child = _started_pid(broker, token)
        assert child != worker.pid
        os.kill(child, signal.SIGKILL)
        runs = _done(broker, token)
    # The message went back to the queue and a new pool process ran it; once.
    rerun = int(runs[1].removeprefix("start:"))
    assert runs == [f"start:{child}", f"start:{rerun}", "done"]
    assert rerun not in (child, worker.pid)
    _nothing_pending(broker)


def test_worker_killed_mid_task_has_it_redelivered_to_another(broker: str, client: Celery) -> None:
    token = uuid.uuid4().hex
    with processes.running(processes.celery_worker(broker, "first", pool="solo")) as first:
        processes.wait_for_worker(client, "first")
        client.send_task("tests.slow_task", args=[token, 30.0])
        assert _started_pid(broker, token) == first.pid
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    # Unacknowledged, so Redis hands it out again once it is older than the visibility timeout
    # (1 s here): a worker looks for such messages as it starts (and periodically after).
    unacked: Any = redis.Redis.from_url(broker).zrange("unacked_index", 0, -1, withscores=True)
    assert len(unacked) == 1, unacked
    visible_at = float(unacked[0][1]) + 1.2
    processes.poll(lambda: time.time() > visible_at, timeout=5, what="1 s unacknowledged")
    second = processes.celery_worker(broker, "second", env={"CELERY_VISIBILITY_TIMEOUT": "1"})
    with processes.running(second):
        runs = _done(broker, token)
    rerun = int(runs[1].removeprefix("start:"))
    assert runs == [f"start:{first.pid}", f"start:{rerun}", "done"]
    assert rerun != first.pid
    _nothing_pending(broker)


def test_worker_finishes_its_task_on_sigterm(broker: str, client: Celery) -> None:
    worker = processes.celery_worker(broker, "warm", pool="prefork")
    with processes.running(worker):
        processes.wait_for_worker(client, "warm")
        token = uuid.uuid4().hex
        client.send_task("tests.slow_task", args=[token, 2.0])
        child = _started_pid(broker, token)
        worker.send_signal(signal.SIGTERM)  # Celery's warm shutdown
        assert worker.wait(timeout=30) == 0
    assert _runs(broker, token) == [f"start:{child}", "done"]
    _nothing_pending(broker)


def _get(url: str, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
        return int(response.status), json.loads(response.read())


def test_gunicorn_finishes_the_request_in_flight_on_sigterm(tmp_path: Path) -> None:
    port = processes.free_port()
    marker = tmp_path / "slow-started"
    server = subprocess.Popen(  # noqa: S603 - gunicorn from our own virtualenv
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--config",
            "config/gunicorn.py",  # the production settings: graceful_timeout among them
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=processes.ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.fuzz_support.slow_settings",
            "VIEWER_STORE": "sql",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "VIEWER_TEST_SLOW_MARKER": str(marker),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    with processes.running(server):

        def healthy() -> bool:
            try:
                return _get(f"{base}/health", timeout=1)[0] == 200
            except OSError:
                return False

        processes.poll(healthy, timeout=60, what="gunicorn serving /health")
        answers: list[tuple[int, dict[str, Any]]] = []
        request = threading.Thread(target=lambda: answers.append(_get(f"{base}/slow")))
        request.start()
        processes.poll(marker.exists, timeout=10, what="the slow request in flight")
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        request.join(timeout=15)
        assert server.wait(timeout=15) == 0
        stopped = time.monotonic() - signalled
    assert answers, "the request in flight got no answer"
    status, body = answers[0]
    assert status == 200 and body["result"] == {"slept": 2.0}, body
    assert stopped < 10  # it stopped once the request was answered, not at the timeout
