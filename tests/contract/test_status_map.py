"""The content-status maps: the store-backed default and Redis (read-after-write)."""

from typing import Any

import pytest
from django.test import override_settings

from viewer.identifiers import ConsumptionKey
from viewer.statusmap import RedisStatusMap, StoreStatusMap, map_key

A = ConsumptionKey("u1", "C1", "B1", "a")
B = ConsumptionKey("u1", "C1", "B1", "b")
OTHER = ConsumptionKey("u1", "C1", "B2", "a")


def test_store_status_map_answers_the_store() -> None:
    status_map = StoreStatusMap()
    status_map.raise_status(key=A, status=2)
    assert status_map.statuses(keys=[A, B], stored={A: 1}) == {A: 1, B: 0}


def test_redis_status_map_raises_and_never_lowers(redis_map: RedisStatusMap) -> None:
    redis_map.raise_status(key=A, status=2)
    redis_map.raise_status(key=A, status=1)
    redis_map.raise_status(key=B, status=1)
    # Read-after-write: the map is ahead of a store that has not caught up.
    assert redis_map.statuses(keys=[A, B, OTHER], stored={}) == {A: 2, B: 1, OTHER: 0}
    # The store being ahead wins as well: the higher status is right.
    assert redis_map.statuses(keys=[B], stored={B: 2}) == {B: 2}


def test_redis_status_map_reloads_a_missing_map_from_the_store(redis_map: RedisStatusMap) -> None:
    client = redis_map._client
    assert redis_map.statuses(keys=[A, B], stored={A: 2}) == {A: 2, B: 0}
    name = map_key("u1", "C1", "B1")
    assert client.hgetall(name) == {b"a": b"2"}
    assert 0 < client.pttl(name) <= redis_map._ttl_ms


def test_redis_status_map_keys_share_the_users_slot() -> None:
    assert map_key("u:1", "C:1", "B") != map_key("u:1", "C", "1:B")
    assert map_key("u1", "C1", "B1").count("{u1}") == 1


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_redis_status_map_down_falls_back_to_the_store(caplog: Any) -> None:
    status_map = RedisStatusMap()
    status_map.raise_status(key=A, status=2)  # logged, not raised
    assert status_map.statuses(keys=[A, B], stored={A: 1}) == {A: 1, B: 0}
    assert "Redis unavailable" in caplog.text
    assert "fell back to the store" in caplog.text
    with pytest.raises(Exception):  # noqa: B017 - readiness reports whatever redis-py raises
        status_map.ping()
