"""Outages on the Cassandra + Redis stack, with real servers: a Redis killed mid-flow, and a
Cassandra that cannot be reached. Never a wrong status, never a partial write."""

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from modes.policies.base import EnrolmentRef
from summaries import coordination
from tests.conftest import Api, error_of, require_service, truncate_cassandra
from viewer import cql, storage
from viewer.statusmap import RedisStatusMap, map_key

pytestmark = pytest.mark.cassandra

KEY = {"userId": "u1", "collectionId": "C1", "contextId": "B1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cassandra_store(cassandra_keyspace: str) -> Iterator[None]:
    """The API on VIEWER_STORE=cassandra, whichever store the suite runs on."""
    with override_settings(VIEWER_STORE="cassandra"):
        storage.component.cache_clear()
        yield
    storage.component.cache_clear()
    truncate_cassandra()


class RedisServer:
    """A redis-server of this test's own, so it can be killed without harming the suite's."""

    def __init__(self, binary: str) -> None:
        self.binary, self.port = binary, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary with fixed arguments
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    require_service(binary is not None, "redis-server is not installed (make test installs it)")
    assert binary is not None
    server = RedisServer(binary)
    server.start()
    yield server
    server.kill()


def _read(api: Api, *contents: str) -> dict[str, int]:
    result = api.ok("POST", "/v1/view/read", {**KEY, "contentId": list(contents)})
    return {c["contentId"]: c["status"] for c in result["contents"]}


def test_redis_killed_mid_flow_keeps_reads_and_writes_correct(
    api: Api, cassandra_store: None, private_redis: RedisServer, caplog: Any
) -> None:
    with override_settings(REDIS_URL=private_redis.url):
        storage.component.cache_clear()
        client = RedisStatusMap()._client
        api.ok("POST", "/v1/view/start", {**KEY, "contentId": "a"})
        api.ok("POST", "/v1/view/end", {**KEY, "contentId": "a"})
        api.ok("POST", "/v1/view/start", {**KEY, "contentId": "b"})
        assert client.hgetall(map_key("u1", "C1", "B1")) == {b"a": b"2", b"b": b"1"}

        private_redis.kill()
        # Writes still land in Cassandra; reads use its statuses.
        api.ok("POST", "/v1/view/update", {**KEY, "contentId": "b", "progressDetails": {}})
        api.ok("POST", "/v1/view/end", {**KEY, "contentId": "b"})
        api.ok("POST", "/v1/view/start", {**KEY, "contentId": "c"})
        assert _read(api, "a", "b", "c", "d") == {"a": 2, "b": 2, "c": 1, "d": 0}
        assert "Redis unavailable" in caplog.text
        assert "fell back to the store" in caplog.text

        # Back, but empty (no persistence): the map reloads from the store on the next read.
        private_redis.start()
        assert _read(api, "a", "b", "c", "d") == {"a": 2, "b": 2, "c": 1, "d": 0}
        assert client.hgetall(map_key("u1", "C1", "B1")) == {b"a": b"2", b"b": b"2", b"c": b"1"}
    storage.component.cache_clear()


def test_cassandra_unreachable_answers_503_and_writes_nothing(
    api: Api, cassandra_store: None, redis_map: RedisStatusMap, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cassandra.cluster import Cluster

    api.ok("POST", "/v1/view/start", {**KEY, "contentId": "x"})
    port = free_port()  # nothing listens there

    def unreachable() -> Any:
        cluster = Cluster(["127.0.0.1"], port=port, connect_timeout=1)
        try:
            return cluster.connect()
        finally:
            cluster.shutdown()

    with monkeypatch.context() as patch:
        patch.setattr(cql, "_prepared", {})
        patch.setattr(cql, "session", unreachable)
        calls: list[tuple[str, dict[str, Any]]] = [
            ("/v1/view/end", {"contentId": "x"}),
            ("/v1/view/update", {"contentId": "x", "progressDetails": {"p": 1}, "progress": 50}),
            ("/v1/view/start", {"contentId": "y"}),
            ("/v1/view/read", {"contentId": "x"}),
        ]
        for endpoint, extra in calls:
            status, err, errmsg = error_of(api.post(endpoint, {**KEY, **extra}))
            assert (status, err) == (503, "SERVICE_UNAVAILABLE"), endpoint
            assert "nothing was written" in errmsg
    # Nothing half-written: neither the rows nor the status map moved.
    [x, y] = api.ok("POST", "/v1/view/read", {**KEY, "contentId": ["x", "y"]})["contents"]
    assert (x["status"], x["progress"], x["progressDetails"]) == (1, 0, None)
    assert y["status"] == 0
    assert redis_map._client.hgetall(map_key("u1", "C1", "B1")) == {b"x": b"1"}


def test_coordination_rides_out_a_redis_restart(private_redis: RedisServer) -> None:
    """Found by bench/soak: a view end or an enrolment during a Redis restart (down 0.4 s) failed
    to mark its summary dirty, so the recompute was never scheduled. The coordinator's client
    retries for about 3 s."""
    with override_settings(REDIS_URL=private_redis.url):
        coordination.coordinator.cache_clear()
        try:
            coordinator = coordination.coordinator()
            assert coordinator.mark([EnrolmentRef("u1", "C1", "B1")]) == ["u1"]
            private_redis.kill()
            restart = threading.Timer(0.5, private_redis.start)
            restart.start()
            assert coordinator.mark([EnrolmentRef("u2", "C1", "B1")]) == ["u2"]
            restart.join()
            assert coordinator.dirty_scopes("u2") == [["C1", "B1"]]
        finally:
            coordination.coordinator.cache_clear()


def test_enrol_recomputes_in_the_request_when_the_coordination_redis_stays_down(
    transactional_db: None,
    api: Api,
    maths_catalogue: None,
    private_redis: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by bench/soak: Redis unreachable while a write schedules its recompute was a 500
    (and the recompute was lost). The write is done, so its summary is computed in the request
    instead: 200, and the summary is there. (Autocommit, as served: the on-commit scheduling
    runs inside the request.)"""
    monkeypatch.setattr(coordination, "COORDINATION_RETRIES", 1)
    body = {"userId": "u1", "collectionId": "class-1-maths", "contextId": "batch-1"}
    with override_settings(REDIS_URL=private_redis.url, CELERY_TASK_ALWAYS_EAGER=False):
        coordination.coordinator.cache_clear()
        try:
            private_redis.kill()
            status, answer = api.post("/v1/enrol", body)
        finally:
            coordination.coordinator.cache_clear()
    assert status == 200, answer
    summary = api.ok("POST", "/v1/summary/read", body)["summary"]
    assert (summary["status"], summary["lastUpdatedOn"] is not None) == (0, True)
