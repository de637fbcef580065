"""GET /metrics: who may scrape it, what moves when views are written (both stores), the store
call labels, the Redis status map, recomputes, webhooks, and several processes summed."""

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import Retry
from django.test import override_settings
from django.utils.module_loading import import_string
from prometheus_client import REGISTRY

from modes.policies.base import EnrolmentRef
from tests.conftest import Api, truncate_cassandra
from tests.processes import ROOT, free_port
from tests.test_security import auth_on  # noqa: F401 - the fixture
from viewer import metrics, storage

USER = "learner-1"
SCOPE = {"userId": USER, "collectionId": "class-1-maths", "contextId": "batch-1"}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """How much some samples moved since it was made."""

    def __init__(self, *samples: tuple[str, dict[str, str]]) -> None:
        self.samples = samples
        self.before = [sample(name, **labels) for name, labels in samples]

    def __call__(self) -> list[float]:
        return [
            sample(name, **labels) - before
            for (name, labels), before in zip(self.samples, self.before, strict=True)
        ]


def _on_store(request: pytest.FixtureRequest, name: str) -> Iterator[str]:
    """The API on store ``name``, whichever store the suite runs on."""
    if name == "cassandra":
        request.getfixturevalue("cassandra_keyspace")
        request.getfixturevalue("redis_map")
    with override_settings(VIEWER_STORE=name):
        storage.component.cache_clear()
        yield name
    storage.component.cache_clear()
    if name == "cassandra":
        truncate_cassandra()


@pytest.fixture(params=["sql", "cassandra"])
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _on_store(request, request.param)


@pytest.fixture
def cassandra_store(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _on_store(request, "cassandra")


# --- Who may scrape.


def test_metrics_needs_a_service_or_admin_token_when_auth_is_on(
    api: Api,
    auth_on: Callable[..., str],  # noqa: F811
) -> None:
    response = api.client.get("/metrics")
    body = response.json()
    assert response.status_code == 401
    assert (body["params"]["err"], body["params"]["status"], body["result"]) == (
        "UNAUTHORIZED",
        "failed",
        {},
    )
    response = api.client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {auth_on(USER)}")
    body = response.json()
    assert response.status_code == 403
    assert body["params"]["err"] == "FORBIDDEN"
    assert body["params"]["errmsg"] == "Metrics need the service or admin role."
    for role in ("service", "admin"):
        token = auth_on("prometheus", roles=[role])
        response = api.client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        assert b"# TYPE viewer_http_requests_total counter" in response.content
    with override_settings(VIEWER_METRICS_PUBLIC=True):
        assert api.client.get("/metrics").status_code == 200


def test_metrics_other_methods_answer_405_in_the_envelope(api: Api) -> None:
    status, body = api.post("/metrics", {})
    assert (status, body["params"]["err"]) == (405, "METHOD_NOT_ALLOWED")


@pytest.mark.store_independent
def test_metrics_is_open_in_the_local_settings() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.VIEWER_METRICS_PUBLIC)",
        ],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("VIEWER_METRICS")},
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "True", result.stderr


# --- What moves.


def test_metrics_move_with_view_start_update_and_end(
    api: Api, store: str, maths_catalogue: None
) -> None:
    api.ok("POST", "/v1/enrol", SCOPE)
    http = {"method": "POST"}
    calls = {"backend": store, "repository": "consumption"}
    delta = Delta(
        ("viewer_http_requests_total", {**http, "endpoint": "view-start", "status": "200"}),
        ("viewer_http_requests_total", {**http, "endpoint": "view-update", "status": "400"}),
        ("viewer_http_request_duration_seconds_count", {**http, "endpoint": "view-end"}),
        ("viewer_store_call_duration_seconds_count", {**calls, "operation": "start"}),
        ("viewer_store_call_duration_seconds_count", {**calls, "operation": "end"}),
        ("viewer_view_not_started_total", {"operation": "update"}),
        ("viewer_recompute_duration_seconds_count", {"outcome": "written"}),
        ("viewer_summary_lag_seconds_count", {}),
        ("viewer_recomputes_running", {}),
    )
    api.ok("POST", "/v1/view/start", {**SCOPE, "contentId": "SDA"})
    _, body = api.post("/v1/view/update", {**SCOPE, "contentId": "DDA", "progressDetails": {}})
    assert body["params"]["err"] == "VIEW_NOT_STARTED"
    api.ok("POST", "/v1/view/end", {**SCOPE, "contentId": "SDA"})
    assert delta() == [1, 1, 1, 1, 1, 1, 1, 1, 0]
    histogram = sample(
        "viewer_http_request_duration_seconds_bucket",
        endpoint="view-end",
        method="POST",
        le="+Inf",
    )
    assert histogram >= 1


def test_metrics_cassandra_lwt_not_applied_and_redis_store_calls(
    api: Api, cassandra_store: str
) -> None:
    delta = Delta(
        ("viewer_cassandra_lwt_not_applied_total", {"operation": "start", "reason": "exists"}),
        ("viewer_cassandra_lwt_not_applied_total", {"operation": "update", "reason": "missing"}),
        ("viewer_cassandra_lwt_not_applied_total", {"operation": "end", "reason": "completed"}),
        (
            "viewer_store_call_duration_seconds_count",
            {"backend": "redis", "repository": "status_map", "operation": "raise_status"},
        ),
    )
    api.ok("POST", "/v1/view/start", {**SCOPE, "contentId": "SDA"})
    api.ok("POST", "/v1/view/start", {**SCOPE, "contentId": "SDA"})  # already started
    api.post("/v1/view/update", {**SCOPE, "contentId": "DDA", "progressDetails": {}})
    api.ok("POST", "/v1/view/end", {**SCOPE, "contentId": "SDA"})
    api.ok("POST", "/v1/view/end", {**SCOPE, "contentId": "SDA"})  # already complete
    assert delta() == [1, 1, 1, 3]  # raised: two starts and the first end


def test_metrics_status_map_hits_misses_reloads_and_fallbacks(
    api: Api, cassandra_store: str
) -> None:
    read = {**SCOPE, "contentId": ["SDA", "DDA"]}
    api.ok("POST", "/v1/view/start", {**SCOPE, "contentId": "SDA"})
    delta = Delta(
        ("viewer_status_map_lookups_total", {"result": "hit"}),
        ("viewer_status_map_lookups_total", {"result": "miss"}),
        ("viewer_status_map_reloads_total", {}),
    )
    api.ok("POST", "/v1/view/read", read)
    assert delta() == [1, 0, 0]
    storage.component("status_map")._client.flushdb()  # the map expired or Redis lost it
    api.ok("POST", "/v1/view/read", read)
    assert delta() == [1, 1, 1]
    api.ok("POST", "/v1/view/read", read)  # reloaded
    assert delta() == [2, 1, 1]

    fallbacks = Delta(
        ("viewer_status_map_fallbacks_total", {"operation": "raise"}),
        ("viewer_status_map_fallbacks_total", {"operation": "read"}),
    )
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with override_settings(REDIS_URL=nowhere):
        storage.component.cache_clear()
        api.ok("POST", "/v1/view/start", {**SCOPE, "contentId": "DDA"})
        contents = api.ok("POST", "/v1/view/read", read)["contents"]
    storage.component.cache_clear()
    assert [c["status"] for c in contents] == [1, 1]
    assert fallbacks() == [1, 1]


def test_metrics_store_calls_are_timed_by_a_subclass_that_counts_errors() -> None:
    class Repository:
        def get(self, *, key: str) -> str:
            return key

        def fail(self) -> None:
            raise OSError("down")

        def scan(self) -> Iterator[int]:
            yield 1

    timed = metrics.timed_class(Repository, backend="test", repository="things")
    instance = timed()
    assert isinstance(instance, Repository)
    labels = {"backend": "test", "repository": "things"}
    delta = Delta(
        ("viewer_store_call_duration_seconds_count", {**labels, "operation": "get"}),
        ("viewer_store_call_duration_seconds_count", {**labels, "operation": "fail"}),
        ("viewer_store_call_errors_total", {**labels, "operation": "fail"}),
    )
    assert instance.get(key="k") == "k"
    with pytest.raises(OSError, match="down"):
        instance.fail()
    assert list(instance.scan()) == [1]  # generators pass through, untimed
    assert delta() == [1, 1, 1]
    assert sample("viewer_store_call_duration_seconds_count", **labels, operation="scan") == 0


def test_metrics_sql_status_map_is_not_timed(store: str) -> None:
    implementation = import_string(storage.BACKENDS[store]["status_map"])
    assert (type(storage.status_map()) is implementation) == (store == "sql")


# --- Recomputes and webhooks.


def test_metrics_recomputes_queued_coalesced_and_lag(coordinator: Any) -> None:
    delta = Delta(
        ("viewer_recomputes_queued_total", {"source": "event"}),
        ("viewer_recomputes_coalesced_total", {}),
        ("viewer_summary_lag_seconds_count", {}),
        ("viewer_recompute_lock_busy_total", {}),
    )
    scope = EnrolmentRef("u1", "c1", "b1")
    assert coordinator.mark([scope]) == ["u1"]
    assert coordinator.mark([scope, EnrolmentRef("u1", "c2", "b1")]) == []  # coalesced
    assert delta() == [1, 1, 0, 0]
    seen: list[Any] = []

    def recompute(ref: EnrolmentRef) -> Any:
        seen.append(ref)
        seen.append(coordinator.run("u1", lambda _: None))  # another worker: the lock is busy
        return object() if ref.collection_id == "c1" else None  # c2: nothing written

    assert coordinator.run("u1", recompute) == 2
    assert delta() == [1, 1, 1, 2]
    assert coordinator.client.keys("viewer:agg:*") == []  # nothing left behind


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_metrics_webhook_deliveries_retries_and_failures() -> None:
    from summaries.tasks import deliver_webhook_task

    delta = Delta(
        ("viewer_webhook_deliveries_total", {"outcome": "delivered"}),
        ("viewer_webhook_deliveries_total", {"outcome": "retried"}),
        ("viewer_webhook_deliveries_total", {"outcome": "failed"}),
        (
            "viewer_task_duration_seconds_count",
            {"task": "summaries.deliver_webhook", "outcome": "success"},
        ),
    )
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        deliver_webhook_task.delay(url, "u1", "c1", "b1", 1)
    finally:
        server.shutdown()
        server.server_close()
    nowhere = f"http://127.0.0.1:{free_port()}/hook"
    args = (nowhere, "u1", "c1", "b1", 1)
    with pytest.raises(Retry):  # eager: the retry is the caller's (a worker retries it later)
        deliver_webhook_task.delay(*args)
    with pytest.raises(OSError):  # the last attempt
        deliver_webhook_task.apply(args=args, retries=deliver_webhook_task.max_retries)
    assert delta() == [1, 1, 1, 1]


# --- Several processes.

_WRITER = """
import sys
from viewer import metrics
metrics.observe_request(endpoint="view-start", method="POST", status=200, seconds=0.004)
metrics.RECOMPUTES_RUNNING.inc()
print("ok")
"""
_SCRAPER = """
import sys
from viewer import metrics
sys.stdout.write(metrics.exposition()[0].decode())
"""


def _run(code: str, directory: Path) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.store_independent
def test_metrics_of_two_processes_are_summed_in_one_scrape(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"  # created by the first process
    writers = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", _WRITER],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)},
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    pids = [w.pid for w in writers]
    assert [w.communicate(timeout=60)[0] for w in writers] == [b"ok\n", b"ok\n"]
    assert len({path.name for path in directory.glob("counter_*.db")}) == 2
    text = _run(_SCRAPER, directory)
    assert (
        'viewer_http_requests_total{endpoint="view-start",method="POST",status="200"} 2.0' in text
    )
    assert (
        'viewer_http_request_duration_seconds_count{endpoint="view-start",method="POST"} 2.0'
        in text
    )
    # Live gauges count only processes alive: a dead one is dropped (gunicorn's child_exit).
    assert "viewer_recomputes_running 2.0" in text
    _run(f"from viewer import metrics\nmetrics.process_exited({pids[0]})", directory)
    assert "viewer_recomputes_running 1.0" in _run(_SCRAPER, directory)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:  # not listening yet
        return 0, ""


def _health_count(port: int) -> float:
    status, text = _get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    prefix = 'viewer_http_requests_total{endpoint="health",method="GET",status="200"} '
    return float(next(ln for ln in text.splitlines() if ln.startswith(prefix))[len(prefix) :])


@pytest.mark.store_independent
def test_metrics_under_gunicorn_with_two_workers(tmp_path: Path) -> None:
    """config/gunicorn.py: every worker's requests in every scrape, the directory emptied at
    start (a stale file of an earlier run is not summed in)."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"stale")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "VIEWER_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: S603 - gunicorn from our own virtualenv
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-c",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _get(f"http://127.0.0.1:{port}/health")[0] != 200:
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.1)
        assert not (directory / "counter_999999.db").exists()
        before = _health_count(port)
        for _ in range(30):
            assert _get(f"http://127.0.0.1:{port}/health")[0] == 200
        # Scrapes answered by either worker see the same sum.
        assert {_health_count(port) for _ in range(4)} == {before + 30}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_metrics_exposition_lists_every_metric(api: Api) -> None:
    response = api.client.get("/metrics")
    names = {
        line.split()[2]
        for line in response.content.decode().splitlines()
        if line.startswith("# TYPE")
    }
    assert {
        "viewer_http_requests_total",
        "viewer_http_request_duration_seconds",
        "viewer_store_call_duration_seconds",
        "viewer_store_call_errors_total",
        "viewer_cassandra_lwt_not_applied_total",
        "viewer_view_not_started_total",
        "viewer_status_map_lookups_total",
        "viewer_status_map_reloads_total",
        "viewer_status_map_fallbacks_total",
        "viewer_recomputes_queued_total",
        "viewer_recomputes_coalesced_total",
        "viewer_recompute_lock_busy_total",
        "viewer_recomputes_running",
        "viewer_recompute_duration_seconds",
        "viewer_summary_lag_seconds",
        "viewer_webhook_deliveries_total",
        "viewer_task_duration_seconds",
    } <= names
