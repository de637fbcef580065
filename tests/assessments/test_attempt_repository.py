"""The attempt repository contract, the same on every backend."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assessments.domain import Attempt, Question, attempt_from_answers
from viewer.identifiers import ConsumptionKey

T0 = datetime(2026, 8, 1, 10, 0, 0, 123000, tzinfo=UTC)
KEY = ConsumptionKey("u1", "C1", "B1", "c1")


def make(
    attempt_id: str = "a1",
    *,
    key: ConsumptionKey = KEY,
    at: datetime = T0,
    scores: tuple[float, ...] = (1.0, 0.5),
) -> Attempt:
    answers = [
        Question(
            id=f"q{index}",
            max_score=1.0,
            score=score,
            assess_ts=at - timedelta(seconds=10 - index),
            title=f"Question {index}",
            type="mcq",
            description="Pick one" if index == 0 else None,
            params=({"1": '{"text":"A"}'}, {"answer": '{"correct":["1"]}'}),
            resvalues=({"1": '{"text":"A"}'},) if index == 0 else (),
            duration=12.3 if index == 0 else None,
        )
        for index, score in enumerate(scores)
    ]
    return attempt_from_answers(key=key, attempt_id=attempt_id, assessment_ts=at, answers=answers)


def _stored(repo: Any, key: ConsumptionKey = KEY) -> list[Attempt]:
    return list(
        repo.list_scope(
            user_id=key.user_id,
            collection_id=key.collection_id,
            context_id=key.context_id,
            content_id=key.content_id,
        )
    )


def _without_times(attempt: Attempt) -> Attempt:
    return replace(attempt, created_on=None, updated_on=None)


def test_attempt_upsert_inserts_and_reads_back_every_field(attempt_repo: Any) -> None:
    attempt = make()
    assert attempt_repo.upsert(attempt=attempt) is True
    [stored] = _stored(attempt_repo)
    assert _without_times(stored) == attempt
    assert stored.questions[0].params == ({"1": '{"text":"A"}'}, {"answer": '{"correct":["1"]}'})
    assert (stored.questions[0].duration, stored.questions[1].duration) == (12.3, None)
    assert stored.questions[1].resvalues == ()
    assert stored.created_on is not None and stored.created_on.tzinfo is not None
    assert stored.updated_on == stored.created_on
    assert stored.assessment_ts == T0  # millisecond precision kept


def test_attempt_without_questions(attempt_repo: Any) -> None:
    attempt = replace(make(), questions=())
    assert attempt_repo.upsert(attempt=attempt) is True
    [stored] = _stored(attempt_repo)
    assert stored.questions == ()


@pytest.mark.parametrize("delta", [timedelta(0), -timedelta(milliseconds=1), -timedelta(days=1)])
def test_attempt_upsert_ignores_an_equal_or_older_submission(
    attempt_repo: Any, delta: timedelta
) -> None:
    first = make()
    attempt_repo.upsert(attempt=first)
    [before] = _stored(attempt_repo)
    assert attempt_repo.upsert(attempt=make(at=T0 + delta, scores=(0.0,))) is False
    assert _stored(attempt_repo) == [before]


def test_attempt_upsert_replaces_with_a_newer_submission_keeping_created_on(
    attempt_repo: Any,
) -> None:
    attempt_repo.upsert(attempt=make())
    [before] = _stored(attempt_repo)
    newer = make(at=T0 + timedelta(milliseconds=1), scores=(0.0, 0.0, 1.0))
    assert attempt_repo.upsert(attempt=newer) is True
    [after] = _stored(attempt_repo)
    assert _without_times(after) == newer
    assert after.grand_total == "1.0/3.0"
    assert after.created_on == before.created_on
    assert after.updated_on is not None and before.updated_on is not None
    assert after.updated_on >= before.updated_on


def test_attempt_list_scope_filters_and_orders(attempt_repo: Any) -> None:
    keys = [
        ConsumptionKey("u1", "C1", "B1", "c2"),
        ConsumptionKey("u1", "C1", "B1", "c1"),
        ConsumptionKey("u1", "C1", "B2", "c1"),  # another context
        ConsumptionKey("u1", "C2", "B1", "c1"),  # another collection
        ConsumptionKey("u2", "C1", "B1", "c1"),  # another user
    ]
    for key in keys:
        attempt_repo.upsert(attempt=make("a2", key=key))
        attempt_repo.upsert(attempt=make("a1", key=key))
    scope = {"user_id": "u1", "collection_id": "C1", "context_id": "B1"}
    listed = attempt_repo.list_scope(**scope)
    assert [(a.key.content_id, a.attempt_id) for a in listed] == [
        ("c1", "a1"),
        ("c1", "a2"),
        ("c2", "a1"),
        ("c2", "a2"),
    ]
    only = attempt_repo.list_scope(**scope, content_id="c2")
    assert [(a.key.content_id, a.attempt_id) for a in only] == [("c2", "a1"), ("c2", "a2")]
    assert attempt_repo.list_scope(**scope, content_id="nothing") == []
    assert attempt_repo.list_scope(user_id="u3", collection_id="C1", context_id="B1") == []


def test_attempt_delete_scope(attempt_repo: Any) -> None:
    keys = [
        ConsumptionKey("u1", "C1", "B1", "c1"),
        ConsumptionKey("u1", "C1", "B1", "c2"),
        ConsumptionKey("u1", "C1", "B2", "c1"),
    ]
    for key in keys:
        attempt_repo.upsert(attempt=make(key=key))
    scope = {"user_id": "u1", "collection_id": "C1", "context_id": "B1"}
    attempt_repo.delete_scope(**scope, content_id="c1")
    assert [a.key for a in attempt_repo.list_scope(**scope)] == [keys[1]]
    attempt_repo.delete_scope(**scope)
    assert attempt_repo.list_scope(**scope) == []
    assert [a.key for a in attempt_repo.list_scope(**{**scope, "context_id": "B2"})] == [keys[2]]
    # A deleted attempt can be submitted again, at any time.
    assert attempt_repo.upsert(attempt=make(key=keys[0], at=T0 - timedelta(days=1))) is True


@pytest.mark.cassandra
def test_cassandra_concurrent_submissions_keep_the_newest(cassandra_keyspace: str) -> None:
    """Submissions of one attempt race through LWTs (the SQL store's upsert is one statement,
    and SQLite serialises writers)."""
    from assessments.repositories.cassandra import CassandraAttemptRepository
    from tests.conftest import truncate_cassandra

    attempt_repo = CassandraAttemptRepository()
    offsets = [*range(1, 31, 2), *range(30, 0, -2)]  # rising and falling, interleaved

    def submit(offset: int) -> bool:
        written: bool = attempt_repo.upsert(
            attempt=make(at=T0 + timedelta(seconds=offset), scores=(offset / 100,))
        )
        return written

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(submit, offsets))
    assert True in outcomes
    [stored] = _stored(attempt_repo)
    assert stored.assessment_ts == T0 + timedelta(seconds=30)
    assert stored.total_score == 0.3
    truncate_cassandra()


def test_attempt_ping(attempt_repo: Any) -> None:
    attempt_repo.ping()


@pytest.mark.cassandra
def test_cassandra_attempt_without_a_time_is_replaced(cassandra_keyspace: str) -> None:
    """A row written elsewhere (e.g. migrated) without last_attempted_on is older than any
    submission; its created_on is kept."""
    from assessments.repositories.cassandra import CassandraAttemptRepository
    from tests.conftest import truncate_cassandra
    from viewer import cql

    repo = CassandraAttemptRepository()
    cql.session().execute(
        f"INSERT INTO {cassandra_keyspace}.assessment_aggregator (user_id, collection_id, "
        "context_id, content_id, attempt_id, created_on, total_score) "
        "VALUES ('u1', 'C1', 'B1', 'c1', 'a1', %s, 1.0)",
        (T0 - timedelta(days=30),),
    )
    [legacy] = _stored(repo)
    assert (legacy.assessment_ts, legacy.questions, legacy.grand_total) == (
        datetime(1970, 1, 1, tzinfo=UTC),
        (),
        "",
    )
    assert repo.upsert(attempt=make()) is True
    [stored] = _stored(repo)
    assert _without_times(stored) == make()
    assert stored.created_on == T0 - timedelta(days=30)
    truncate_cassandra()
