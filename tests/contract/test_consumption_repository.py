"""The consumption repository contract, the same on every backend."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumption.domain import Status, WriteOutcome
from viewer.identifiers import ConsumptionKey, Scope

T0 = datetime(2026, 8, 1, 10, 0, 0, 123000, tzinfo=UTC)
KEY = ConsumptionKey("u1", "C1", "B1", "c1")


def _one(repo: Any, key: ConsumptionKey = KEY) -> Any:
    rows = repo.get_many(user_id=key.user_id, keys=[key])
    return rows[0] if rows else None


def test_consumption_start_inserts_only_when_absent(consumption_repo: Any) -> None:
    consumption_repo.start(key=KEY, at=T0)
    row = _one(consumption_repo)
    assert (row.status, row.progress, row.last_access_time) == (Status.IN_PROGRESS, 0, T0)
    consumption_repo.start(key=KEY, at=T0 + timedelta(days=1))
    assert _one(consumption_repo).last_access_time == T0


def test_consumption_update_outcomes(consumption_repo: Any) -> None:
    args = {"progress_details": {"p": 1}, "progress": 10, "time_spent": 5.0}
    assert consumption_repo.update(key=KEY, at=T0, **args) is WriteOutcome.MISSING
    assert _one(consumption_repo) is None
    consumption_repo.start(key=KEY, at=T0)
    assert consumption_repo.update(key=KEY, at=T0, **args) is WriteOutcome.APPLIED
    assert (
        consumption_repo.update(
            key=KEY, at=T0, progress_details={"p": 2}, progress=None, time_spent=None
        )
        is WriteOutcome.APPLIED
    )
    row = _one(consumption_repo)
    assert (row.progress, row.time_spent, row.progress_details) == (10, 5.0, {"p": 2})
    consumption_repo.end(key=KEY, at=T0, progress_details=None)
    assert consumption_repo.update(key=KEY, at=T0, **args) is WriteOutcome.UNCHANGED


def test_consumption_end_sets_completion_once(consumption_repo: Any) -> None:
    assert consumption_repo.end(key=KEY, at=T0, progress_details=None) is WriteOutcome.MISSING
    consumption_repo.start(key=KEY, at=T0)
    assert consumption_repo.end(key=KEY, at=T0, progress_details={"x": 1}) is WriteOutcome.APPLIED
    later = T0 + timedelta(hours=1)
    assert consumption_repo.end(key=KEY, at=later, progress_details={}) is WriteOutcome.UNCHANGED
    row = _one(consumption_repo)
    assert (row.status, row.progress, row.last_completed_time) == (Status.COMPLETED, 100, T0)
    assert row.progress_details == {"x": 1}


def test_consumption_get_many_returns_exact_keys_only(consumption_repo: Any) -> None:
    keys = [
        ConsumptionKey("u1", "C1", "B1", "c1"),
        ConsumptionKey("u1", "C1", "B2", "c2"),
        ConsumptionKey("u1", "C2", "B1", "c2"),
        ConsumptionKey("u2", "C1", "B1", "c1"),
    ]
    for key in keys:
        consumption_repo.start(key=key, at=T0)
    # (C1, B1, c2) is not a row although each of its parts appears in some row.
    wanted = [keys[0], ConsumptionKey("u1", "C1", "B1", "c2"), keys[2]]
    found = consumption_repo.get_many(user_id="u1", keys=wanted)
    assert sorted(row.key for row in found) == sorted([keys[0], keys[2]])
    assert consumption_repo.get_many(user_id="u1", keys=[]) == []


def test_consumption_list_scope(consumption_repo: Any) -> None:
    for content in ("b", "a", "c"):
        consumption_repo.start(key=ConsumptionKey("u1", "C1", "B1", content), at=T0)
    consumption_repo.start(key=ConsumptionKey("u1", "C1", "B2", "d"), at=T0)
    consumption_repo.start(key=ConsumptionKey("u2", "C1", "B1", "e"), at=T0)
    rows = consumption_repo.list_scope(scope=Scope("u1", "C1", "B1"))
    assert [row.key.content_id for row in rows] == ["a", "b", "c"]


def test_consumption_times_keep_millisecond_precision(consumption_repo: Any) -> None:
    consumption_repo.start(key=KEY, at=T0)
    consumption_repo.end(key=KEY, at=T0 + timedelta(milliseconds=1), progress_details=None)
    row = _one(consumption_repo)
    assert row.last_completed_time == T0 + timedelta(milliseconds=1)
    assert row.last_completed_time.tzinfo is not None


def test_consumption_ping(consumption_repo: Any) -> None:
    consumption_repo.ping()


def test_consumption_update_keeps_maxima_when_an_older_event_arrives(consumption_repo: Any) -> None:
    consumption_repo.start(key=KEY, at=T0)
    later = T0 + timedelta(minutes=5)
    consumption_repo.update(
        key=KEY, at=later, progress_details={"v": 1}, progress=60, time_spent=90.0
    )
    # An older, lower event synced late: details are the latest sent, maxima stay.
    assert (
        consumption_repo.update(
            key=KEY, at=T0, progress_details={"v": 2}, progress=20, time_spent=10.0
        )
        is WriteOutcome.APPLIED
    )
    row = _one(consumption_repo)
    assert (row.progress, row.time_spent, row.last_access_time) == (60, 90.0, later)
    assert row.progress_details == {"v": 2}
    consumption_repo.end(key=KEY, at=T0, progress_details=None)
    row = _one(consumption_repo)
    assert (row.status, row.last_access_time, row.last_completed_time) == (2, later, T0)


@pytest.mark.cassandra
def test_cassandra_concurrent_updates_keep_the_highest_values(cassandra_keyspace: str) -> None:
    """Eight writers race on one row (the SQL store serialises writers in the database)."""
    from consumption.repositories.cassandra import CassandraConsumptionRepository
    from tests.conftest import truncate_cassandra

    consumption_repo = CassandraConsumptionRepository()
    consumption_repo.start(key=KEY, at=T0)
    values = [*range(1, 41, 2), *range(40, 0, -2)]  # rising and falling, interleaved

    def write(value: int) -> WriteOutcome:
        outcome: WriteOutcome = consumption_repo.update(
            key=KEY,
            at=T0 + timedelta(seconds=value),
            progress_details={"v": value},
            progress=value,
            time_spent=float(value),
        )
        return outcome

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(write, values))
    assert set(outcomes) == {WriteOutcome.APPLIED}
    row = _one(consumption_repo)
    assert (row.progress, row.time_spent) == (40, 40.0)
    assert row.last_access_time == T0 + timedelta(seconds=40)
    truncate_cassandra()


def _rows(repo: Any, user_id: str = "u1") -> dict[ConsumptionKey, Any]:
    return {row.key: row for row in repo.list_user(user_id=user_id)}


def test_consumption_carry_never_lowers(consumption_repo: Any) -> None:
    source_key, target = ConsumptionKey("u1", "c1", "c1", "c1"), KEY
    consumption_repo.start(key=source_key, at=T0)
    consumption_repo.end(key=source_key, at=T0, progress_details=None)
    [source] = consumption_repo.get_many(user_id="u1", keys=[source_key])
    record = {"action": "copy", "rule": "always"}
    assert consumption_repo.carry(source=source, target=target, provenance=record) is True
    row = _one(consumption_repo)
    assert (row.status, row.progress, row.last_completed_time, row.provenance) == (
        2,
        100,
        T0,
        record,
    )
    assert consumption_repo.carry(source=source, target=target, provenance={"x": 1}) is False
    assert _one(consumption_repo).provenance == record
    # An in-progress target is raised to the completion.
    other = ConsumptionKey("u1", "C1", "B2", "c1")
    consumption_repo.start(key=other, at=T0)
    assert consumption_repo.carry(source=source, target=other, provenance=record) is True
    assert _one(consumption_repo, other).status == 2


def test_consumption_move_is_one_step(consumption_repo: Any) -> None:
    old = [ConsumptionKey("u1", "C1", "OLD", c) for c in ("a", "b")]
    consumption_repo.start(key=old[0], at=T0)
    consumption_repo.end(key=old[0], at=T0, progress_details=None)
    consumption_repo.start(key=old[1], at=T0)
    stale = _rows(consumption_repo)
    # A write lands between the read and the move: the move still carries the latest state.
    consumption_repo.update(key=old[1], at=T0, progress_details={}, progress=70, time_spent=None)
    rows = _rows(consumption_repo)
    moves = [
        (rows[k], ConsumptionKey("u1", "C1", "NEW", k.content_id), {"action": "move"}) for k in old
    ]
    consumption_repo.move(
        moves=[(stale[k], t, p) for (_, t, p), k in zip(moves, old, strict=True)], current=stale
    )
    after = _rows(consumption_repo)
    assert set(after) == {
        ConsumptionKey("u1", "C1", "NEW", "a"),
        ConsumptionKey("u1", "C1", "NEW", "b"),
    }
    moved_a = after[ConsumptionKey("u1", "C1", "NEW", "a")]
    assert (moved_a.status, moved_a.provenance) == (2, {"action": "move"})
    moved_b = after[ConsumptionKey("u1", "C1", "NEW", "b")]
    assert (moved_b.status, moved_b.progress) == (1, 70)
