"""assessment_aggregator on Apache Cassandra (VIEWER_STORE=cassandra).

The upsert is lightweight transactions on one row: ``INSERT ... IF NOT EXISTS``; when the attempt
exists, the answer carries the stored row, and a strictly newer submission replaces it with
``UPDATE ... IF last_attempted_on < ?`` (``created_on`` is not written, so it is kept). An older
or equal replay costs one round trip and writes nothing. Answers are bound as a list of the
``question`` user-defined type through prepared statements.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from viewer import cql, timeutil
from viewer.errors import StoreUnavailableError
from viewer.identifiers import ConsumptionKey

from ..domain import Attempt, Question
from . import archived

TABLE = "{ks}.assessment_aggregator"
COLUMNS = (
    "user_id, collection_id, context_id, content_id, attempt_id, created_on, grand_total, "
    "last_attempted_on, questions, total_max_score, total_score, updated_on"
)
KEY_WHERE = (
    "user_id = ? AND collection_id = ? AND context_id = ? AND content_id = ? AND attempt_id = ?"
)
SCOPE_WHERE = "user_id = ? AND collection_id = ? AND context_id = ?"
INSERT = (
    f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
)
_REPLACE_SET = (
    "grand_total = ?, last_attempted_on = ?, questions = ?, total_max_score = ?, "
    "total_score = ?, updated_on = ?"
)
REPLACE = f"UPDATE {TABLE} SET {_REPLACE_SET} WHERE {KEY_WHERE} IF last_attempted_on < ?"
# A row without an attempt time (written elsewhere, e.g. migrated) is older than any submission.
REPLACE_UNTIMED = (
    f"UPDATE {TABLE} SET {_REPLACE_SET}, created_on = ? WHERE {KEY_WHERE} "
    "IF last_attempted_on = null"
)
SELECT_SCOPE = f"SELECT {COLUMNS} FROM {TABLE} WHERE {SCOPE_WHERE}"
SELECT_CONTENT = f"{SELECT_SCOPE} AND content_id = ?"
DELETE_SCOPE = f"DELETE FROM {TABLE} WHERE {SCOPE_WHERE}"
DELETE_CONTENT = f"{DELETE_SCOPE} AND content_id = ?"
ARCHIVE_TABLE = "{ks}.assessment_archive"
SELECT_ARCHIVE = f"SELECT best, archived_on FROM {ARCHIVE_TABLE} WHERE {SCOPE_WHERE}"
INSERT_ARCHIVE = (
    f"INSERT INTO {ARCHIVE_TABLE} (user_id, collection_id, context_id, best, archived_on) "
    "VALUES (?, ?, ?, ?, ?) IF NOT EXISTS"
)
UPDATE_ARCHIVE = (
    f"UPDATE {ARCHIVE_TABLE} SET best = ?, archived_on = ? WHERE {SCOPE_WHERE} IF archived_on = ?"
)
DELETE_ARCHIVE = f"DELETE FROM {ARCHIVE_TABLE} WHERE {SCOPE_WHERE}"
# An archived attempt is deleted only as it was read (and exported): a replaced one stays.
ARCHIVE_DELETE = f"DELETE FROM {TABLE} WHERE {KEY_WHERE} IF last_attempted_on = ?"
# Rounds of an archived-scores write that keeps meeting a concurrent writer.
ARCHIVE_ROUNDS = 3
# Rounds of an upsert that keeps meeting concurrent changes of the same attempt.
UPSERT_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class QuestionValue:
    """A ``question`` UDT value for a prepared statement. The driver binds a value that cannot
    be indexed by its attributes, field by field, whatever the order of the type's fields."""

    id: str
    assess_ts: datetime
    max_score: float
    score: float
    type: str | None
    title: str | None
    resvalues: list[dict[str, str]]
    params: list[dict[str, str]]
    description: str | None
    duration: Decimal | None


def _question_value(question: Question) -> QuestionValue:
    return QuestionValue(
        id=question.id,
        assess_ts=question.assess_ts,
        max_score=question.max_score,
        score=question.score,
        type=question.type,
        title=question.title,
        resvalues=list(question.resvalues),
        params=list(question.params),
        description=question.description,
        # Through repr: the decimal of the double's shortest form (12.3, not 12.300000000000000710).
        duration=None if question.duration is None else Decimal(repr(question.duration)),
    )


def _value_list(values: Any) -> tuple[dict[str, str], ...]:
    return tuple(dict(v) for v in values or ())


def _question(value: Any) -> Question:
    assess_ts = cql.aware(value.assess_ts)
    assert assess_ts is not None
    return Question(
        id=value.id,
        max_score=value.max_score,
        score=value.score,
        assess_ts=assess_ts,
        title=value.title,
        type=value.type,
        description=value.description,
        params=_value_list(value.params),
        resvalues=_value_list(value.resvalues),
        duration=None if value.duration is None else float(value.duration),
    )


def _to_domain(row: dict[str, Any]) -> Attempt:
    assessment_ts = cql.aware(row["last_attempted_on"])
    return Attempt(
        key=ConsumptionKey(
            user_id=row["user_id"],
            collection_id=row["collection_id"],
            context_id=row["context_id"],
            content_id=row["content_id"],
        ),
        attempt_id=row["attempt_id"],
        # A row written elsewhere without a time sorts first.
        assessment_ts=assessment_ts or timeutil.EPOCH,
        questions=tuple(_question(q) for q in row["questions"] or ()),
        total_score=row["total_score"] or 0.0,
        total_max_score=row["total_max_score"] or 0.0,
        grand_total=row["grand_total"] or "",
        created_on=cql.aware(row["created_on"]),
        updated_on=cql.aware(row["updated_on"]),
    )


def _key_params(attempt: Attempt) -> tuple[str, ...]:
    key = attempt.key
    return (key.user_id, key.collection_id, key.context_id, key.content_id, attempt.attempt_id)


def _scope_params(
    user_id: str, collection_id: str, context_id: str, content_id: str | None
) -> tuple[str, ...]:
    scope = (user_id, collection_id, context_id)
    return scope if content_id is None else (*scope, content_id)


class CassandraAttemptRepository:
    def upsert(self, *, attempt: Attempt) -> bool:
        questions = [_question_value(q) for q in attempt.questions]
        for _ in range(UPSERT_ROUNDS):
            now = timeutil.now()
            replaced = (
                attempt.grand_total,
                attempt.assessment_ts,
                questions,
                attempt.total_max_score,
                attempt.total_score,
                now,
            )
            inserted = cql.execute(
                INSERT,
                (
                    *_key_params(attempt),
                    now,
                    attempt.grand_total,
                    attempt.assessment_ts,
                    questions,
                    attempt.total_max_score,
                    attempt.total_score,
                    now,
                ),
            ).one()
            if inserted["[applied]"]:
                return True
            # Not applied: the answer is the stored row.
            stored = cql.aware(inserted["last_attempted_on"])
            if stored is not None and stored >= attempt.assessment_ts:
                return False
            if stored is None:
                created_on = inserted["created_on"] or now
                answer = cql.execute(
                    REPLACE_UNTIMED, (*replaced, created_on, *_key_params(attempt))
                ).one()
            else:
                answer = cql.execute(
                    REPLACE, (*replaced, *_key_params(attempt), attempt.assessment_ts)
                ).one()
            if answer["[applied]"]:
                return True
            # Changed (a newer submission, or deleted) since the insert's answer: look again.
        raise StoreUnavailableError("The attempt kept changing under concurrent writes; retry.")

    def list_scope(
        self, *, user_id: str, collection_id: str, context_id: str, content_id: str | None = None
    ) -> list[Attempt]:
        statement = SELECT_SCOPE if content_id is None else SELECT_CONTENT
        params = _scope_params(user_id, collection_id, context_id, content_id)
        return [_to_domain(row) for row in cql.execute(statement, params)]

    def delete_scope(
        self, *, user_id: str, collection_id: str, context_id: str, content_id: str | None = None
    ) -> None:
        statement = DELETE_SCOPE if content_id is None else DELETE_CONTENT
        cql.execute(statement, _scope_params(user_id, collection_id, context_id, content_id))
        if content_id is None:
            cql.execute(DELETE_ARCHIVE, (user_id, collection_id, context_id))

    def _archive_row(self, scope: tuple[str, str, str]) -> tuple[archived.ArchivedScores, Any]:
        row = cql.execute(SELECT_ARCHIVE, scope).one()
        return ({}, None) if row is None else (json.loads(row["best"]), row["archived_on"])

    def _put_archive(
        self, scope: tuple[str, str, str], best: archived.ArchivedScores, at: datetime, version: Any
    ) -> bool:
        """Write the archived scores if they are still at ``version`` (None: absent)."""
        if version is None:
            answer = cql.execute(INSERT_ARCHIVE, (*scope, json.dumps(best), at)).one()
        else:
            answer = cql.execute(UPDATE_ARCHIVE, (json.dumps(best), at, *scope, version)).one()
        return bool(answer["[applied]"])

    def archived_scores(
        self, *, user_id: str, scopes: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], archived.ArchivedScores]:
        results = cql.execute_many(SELECT_ARCHIVE, [(user_id, *scope) for scope in scopes])
        found = zip(scopes, (result.one() for result in results), strict=True)
        return {scope: json.loads(row["best"]) for scope, row in found if row is not None}

    def archive_scope(
        self,
        *,
        user_id: str,
        collection_id: str,
        context_id: str,
        attempts: Sequence[Attempt],
        at: datetime,
    ) -> int:
        """The archived scores first (a lightweight transaction on their last version), then
        each attempt deleted under ``IF`` its assessment time is as read. Attempts that stayed
        are taken out of the archived scores again (they are live)."""
        if not attempts:
            return 0
        scope = (user_id, collection_id, context_id)
        for _ in range(ARCHIVE_ROUNDS):
            base, version = self._archive_row(scope)
            best = archived.folded(base, attempts)
            if self._put_archive(scope, best, at, version):
                break
        else:
            raise StoreUnavailableError("The archived scores kept changing; nothing archived.")
        answers = cql.execute_many(
            ARCHIVE_DELETE,
            [
                (
                    *_key_params(attempt),
                    # A row stored without a time reads as the epoch (see _to_domain).
                    None if attempt.assessment_ts == timeutil.EPOCH else attempt.assessment_ts,
                )
                for attempt in attempts
            ],
        )
        deleted = [
            attempt
            for attempt, answer in zip(attempts, answers, strict=True)
            if answer.one()["[applied]"]
        ]
        if len(deleted) < len(attempts):
            later = max(timeutil.now(), at + timedelta(milliseconds=1))
            # Best effort: archived scores of an attempt that stayed are harmless (reads merge).
            self._put_archive(scope, archived.folded(base, deleted), later, at)
        return len(deleted)

    def ping(self) -> None:
        cql.ping()
