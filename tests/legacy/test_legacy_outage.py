"""A Cassandra that cannot be reached: the legacy APIs answer 503 and write nothing."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from tests.conftest import Api, error_of, truncate_cassandra
from tests.contract.test_outages import free_port
from viewer import cql, storage
from viewer.statusmap import RedisStatusMap

pytestmark = pytest.mark.cassandra


@pytest.fixture
def cassandra_store(cassandra_keyspace: str) -> Iterator[None]:
    with override_settings(VIEWER_STORE="cassandra"):
        storage.component.cache_clear()
        yield
    storage.component.cache_clear()
    truncate_cassandra()


def test_legacy_apis_answer_503_when_cassandra_is_unreachable(
    api: Api, cassandra_store: None, redis_map: RedisStatusMap, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cassandra.cluster import Cluster

    api.ok("PUT", "/v1/collection/C1", {"name": "C", "children": [{"identifier": "x"}]})
    api.ok(
        "PUT",
        "/v1/context/B1",
        {"type": "batch", "collectionIds": ["C1"], "startDate": "2020-01-01"},
    )
    port = free_port()  # nothing listens there

    def unreachable() -> Any:
        cluster = Cluster(["127.0.0.1"], port=port, connect_timeout=1)
        try:
            return cluster.connect()
        finally:
            cluster.shutdown()

    item = {"contentId": "x", "courseId": "C1", "batchId": "B1", "status": 2}
    with monkeypatch.context() as patch:
        patch.setattr(cql, "_prepared", {})
        patch.setattr(cql, "session", unreachable)
        for method, path, body in [
            ("PATCH", "/v1/content/state/update", {"userId": "u1", "contents": [item]}),
            ("POST", "/v1/content/state/read", {"userId": "u1", "courseId": "C1", "batchId": "B1"}),
            ("GET", "/v1/user/enrollment/list/u1", None),
        ]:
            status, err, _ = error_of(api.call(method, path, body))
            assert (status, err) == (503, "SERVICE_UNAVAILABLE"), path
    read = api.ok(
        "POST", "/v1/content/state/read", {"userId": "u1", "courseId": "C1", "batchId": "B1"}
    )
    assert read == {"contentList": []}
    assert redis_map._client.keys() == []
