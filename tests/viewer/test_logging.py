"""Structured logs: one line per request and per task, the request id from the caller (or
generated) carried from a view end into the recompute it scheduled - in the request (eager) and
in a real Celery worker - and never a token or a raw user id."""

import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import Api, require_service
from tests.processes import ROOT, free_port
from tests.test_security import auth_on  # noqa: F401 - the fixture
from viewer import logs

USER = "learner-1"
SCOPE = {"userId": USER, "collectionId": "class-1-maths", "contextId": "batch-1"}


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self, **match: Any) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.text.splitlines() if line]
        return [p for p in parsed if all(p.get(k) == v for k, v in match.items())]


@pytest.fixture
def json_log() -> Iterator[Captured]:
    """Every log line, as the production settings write them (VIEWER_LOG_FORMAT=json)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield Captured(stream)
    root.removeHandler(handler)


def test_logging_one_json_line_per_request_with_its_fields(api: Api, json_log: Captured) -> None:
    response = api.client.post(
        "/v1/view/start",
        data=json.dumps({"request": {**SCOPE, "contentId": "SDA"}}),
        content_type="application/json",
        headers={"X-Request-ID": "req-42"},
    )
    assert response["X-Request-ID"] == "req-42"
    [line] = json_log.lines(logger="viewer.request")
    assert line == {
        "ts": line["ts"],
        "level": "INFO",
        "logger": "viewer.request",
        "message": "request",
        "request_id": "req-42",
        "endpoint": "view-start",
        "method": "POST",
        "status": 200,
        "duration_ms": line["duration_ms"],
        "user": logs.user_ref("anonymous-admin"),  # VIEWER_AUTH=off: every caller is an admin
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["ts"])
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0


def test_logging_request_id_from_msgid_or_generated(api: Api, json_log: Captured) -> None:
    def start(params: dict[str, Any] | None) -> tuple[str, str]:
        body = {"request": {**SCOPE, "contentId": "SDA"}}
        response = api.client.post(
            "/v1/view/start",
            data=json.dumps({**body, **({"params": params} if params else {})}),
            content_type="application/json",
        )
        return response["X-Request-ID"], response.json()["params"]["msgid"]

    assert start({"msgid": "m-77"}) == ("m-77", "m-77")
    generated, msgid = start(None)  # the same generated id in the header and the envelope
    assert generated == msgid and re.fullmatch(r"[0-9a-f]{32}", generated)
    replaced, msgid = start({"msgid": "not a plain token"})  # echoed, but not a request id
    assert msgid == "not a plain token" and re.fullmatch(r"[0-9a-f]{32}", replaced)
    ids = [line["request_id"] for line in json_log.lines(logger="viewer.request")]
    assert ids == ["m-77", generated, replaced]


# Autocommit, as a served request: the recompute runs inside the request that scheduled it
# (in a test transaction it would run only after the response).
@pytest.mark.django_db(transaction=True)
def test_logging_view_end_request_id_reaches_the_recompute_and_its_tasks(
    api: Api, maths_catalogue: None, json_log: Captured
) -> None:
    api.ok("POST", "/v1/enrol", SCOPE)
    for content in ("SDA", "DDA", "TDA"):
        api.ok("POST", "/v1/view/start", {**SCOPE, "contentId": content})
    for content in ("SDA", "DDA", "TDA"):
        api.client.post(
            "/v1/view/end",
            data=json.dumps({"request": {**SCOPE, "contentId": content}}),
            content_type="application/json",
            headers={"X-Request-ID": f"end-{content}"},
        )
    for content in ("SDA", "DDA", "TDA"):
        [recompute] = json_log.lines(message="recompute", request_id=f"end-{content}")
        assert recompute["outcome"] == "written"
        assert recompute["user"] == logs.user_ref(USER)
        assert (recompute["collection_id"], recompute["context_id"]) == SCOPE_IDS
        assert recompute["duration_ms"] > 0
    # The last end completed the collection: its webhook fan-out task ran (eagerly) with its id.
    [task] = json_log.lines(logger="viewer.task", task="summaries.completion_webhooks")
    assert task["request_id"] == "end-TDA"
    assert (task["outcome"], task["eager"]) == ("success", True)
    assert set(task) >= {"task_id", "duration_ms", "retries"}


SCOPE_IDS = ("class-1-maths", "batch-1")


def test_logging_no_line_holds_a_token_or_a_raw_user_id(
    api: Api,
    auth_on: Callable[..., str],  # noqa: F811
    json_log: Captured,
) -> None:
    me, other = "learner-secret-77", "someone-else-42"
    token = auth_on(me)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    key = {"userId": me, "contentId": "c1"}
    api.call("POST", "/v1/view/start", key, **headers)
    api.call("POST", "/v1/view/update", {**key, "progressDetails": {"p": 1}}, **headers)
    api.call("POST", "/v1/view/end", key, **headers)
    api.call("POST", "/v1/view/read", key, **headers)
    api.call("POST", "/v1/view/read", {**key, "userId": other}, **headers)  # 403
    api.call("GET", f"/v1/summary/list/{me}", **headers)
    api.call("GET", f"/v1/summary/list/{other}", **headers)  # 403, the id in the path
    api.call("GET", f"/v1/nowhere/{me}", **headers)  # 404, the id in the path
    api.call("GET", f"/v1/summary/list/{me}", HTTP_AUTHORIZATION=f"Bearer {token}x")  # 401
    text = json_log.text
    assert len(json_log.lines(logger="viewer.request")) == 9
    assert len(json_log.lines(logger="django.request")) >= 3  # Django's own 4xx lines
    for secret in (token, token[-20:], me, other, settings.SECRET_KEY):
        assert secret not in text
    assert logs.user_ref(me) in text  # the pseudonym stands in


@pytest.mark.store_independent
def test_logging_text_format_has_the_same_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "viewer.request", "levelname": "INFO", "msg": "request"}
    )
    record.fields = {"endpoint": "view-start", "status": 200}
    token = logs.bind("req-9")
    try:
        logs.RequestContextFilter().filter(record)
    finally:
        logs.unbind(token)
    line = logs.TextFormatter().format(record)
    assert line.endswith("INFO viewer.request [req-9] request endpoint=view-start status=200")


@pytest.mark.store_independent
@pytest.mark.parametrize(
    ("settings_module", "expected"), [("production", "json"), ("local", "text")]
)
def test_logging_format_defaults_json_in_production(settings_module: str, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIEWER_", "DJANGO_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": f"config.settings.{settings_module}",
            "DJANGO_SECRET_KEY": "x" * 60,
            "DJANGO_ALLOWED_HOSTS": "viewer.example.org",
            "VIEWER_JWT_SECRET": "y" * 40,
        }
    )
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.LOGGING['handlers']['console']['formatter'])"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == expected, result.stderr
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        env={**env, "VIEWER_LOG_FORMAT": "xml"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "VIEWER_LOG_FORMAT must be one of json, text" in result.stderr


# --- A real worker: the request id travels in the task message; metrics on the worker's port.


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[tuple[Any, Path, int]]:
    """One real Celery worker (prefork, 2 children) on Redis, JSON logs to a file, metrics on
    a port of its own; yields (a client app, its log file, the metrics port)."""
    import redis
    from celery import Celery

    try:
        redis.Redis.from_url(settings.REDIS_URL).ping()
    except Exception as exc:  # any failure to reach it means the same: no Redis
        require_service(False, f"Redis at {settings.REDIS_URL} does not answer: {exc}")
    port = free_port()
    log_file = tmp_path / "worker.log"
    queue = "viewer-test-logging"
    env = {
        **os.environ,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "VIEWER_LOG_FORMAT": "json",
        "VIEWER_METRICS_WORKER_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    with log_file.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - celery from our own virtualenv
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency",
                "2",
                "--queues",
                queue,
                "--hostname",
                f"logging-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    client = Celery(broker=settings.REDIS_URL, set_as_current=False)
    client.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        name = f"logging-{os.getpid()}@"
        while not any(
            next(iter(reply)).startswith(name) for reply in client.control.ping(timeout=0.5)
        ):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the Celery worker did not start:\n" + log_file.read_text())
        yield client, log_file, port
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.store_independent
def test_logging_real_worker_task_line_carries_the_request_id(
    worker: tuple[Any, Path, int],
) -> None:
    client, log_file, port = worker
    token = logs.bind("req-worker-1")  # as in a request that schedules the recompute
    try:
        client.send_task("summaries.recompute", args=["nobody-dirty"])
    finally:
        logs.unbind(token)
    deadline = time.monotonic() + 30
    found: list[dict[str, Any]] = []
    while not found and time.monotonic() < deadline:
        for line in log_file.read_text().splitlines():
            if line.startswith("{") and '"summaries.recompute"' in line:
                found.append(json.loads(line))
        time.sleep(0.1)
    [task] = [f for f in found if f.get("logger") == "viewer.task"]
    assert task["request_id"] == "req-worker-1"
    assert (task["outcome"], task["eager"]) == ("success", False)
    assert "nobody-dirty" not in log_file.read_text()  # task arguments are not logged
    # Its prefork children's metrics, summed on the worker's own port.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert (
        'viewer_task_duration_seconds_count{outcome="success",task="summaries.recompute"} 1.0'
        in text
    )
