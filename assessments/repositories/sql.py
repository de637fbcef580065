"""assessment_aggregator on the relational database (SQLite or PostgreSQL).

The upsert is one statement (``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` the stored attempt
is older), so concurrent submissions of one attempt cannot interleave and the newest wins. Reads
and deletes go through the ORM (not a hot path); ``AttemptRecord`` owns the schema.
"""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction

from viewer import timeutil
from viewer.identifiers import ConsumptionKey

from ..domain import Attempt, Question
from ..models import AttemptArchiveRecord, AttemptRecord
from . import archived

KEY_COLUMNS = ("user_id", "collection_id", "context_id", "content_id", "attempt_id")
REPLACED_COLUMNS = (
    "last_attempted_on",
    "questions",
    "total_score",
    "total_max_score",
    "grand_total",
    "updated_on",
)
ROW_COLUMNS = (*KEY_COLUMNS, *REPLACED_COLUMNS, "created_on")


def question_to_json(question: Question) -> dict[str, Any]:
    return {
        "id": question.id,
        "max_score": question.max_score,
        "score": question.score,
        "assess_ts": timeutil.to_ms(question.assess_ts),
        "title": question.title,
        "type": question.type,
        "description": question.description,
        "params": list(question.params),
        "resvalues": list(question.resvalues),
        "duration": question.duration,
    }


def question_from_json(data: dict[str, Any]) -> Question:
    return Question(
        id=data["id"],
        max_score=data["max_score"],
        score=data["score"],
        assess_ts=timeutil.from_ms(data["assess_ts"]),
        title=data.get("title"),
        type=data.get("type"),
        description=data.get("description"),
        params=tuple(data.get("params") or ()),
        resvalues=tuple(data.get("resvalues") or ()),
        duration=data.get("duration"),
    )


def _to_domain(record: AttemptRecord) -> Attempt:
    return Attempt(
        key=ConsumptionKey(
            user_id=record.user_id,
            collection_id=record.collection_id,
            context_id=record.context_id,
            content_id=record.content_id,
        ),
        attempt_id=record.attempt_id,
        assessment_ts=record.last_attempted_on,
        questions=tuple(question_from_json(q) for q in record.questions),
        total_score=record.total_score,
        total_max_score=record.total_max_score,
        grand_total=record.grand_total,
        created_on=record.created_on,
        updated_on=record.updated_on,
    )


@cache
def _json_field() -> Any:
    return AttemptRecord._meta.get_field("questions")


def _time(value: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


class SqlAttemptRepository:
    table = AttemptRecord._meta.db_table

    def upsert(self, *, attempt: Attempt) -> bool:
        t = self.table
        now = _time(timeutil.now())
        key = attempt.key
        values = [
            key.user_id,
            key.collection_id,
            key.context_id,
            key.content_id,
            attempt.attempt_id,
            _time(attempt.assessment_ts),
            _json_field().get_db_prep_save(
                [question_to_json(q) for q in attempt.questions], connection
            ),
            attempt.total_score,
            attempt.total_max_score,
            attempt.grand_total,
            now,
            now,
        ]
        assignments = ", ".join(f"{col} = excluded.{col}" for col in REPLACED_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {t} ({', '.join(ROW_COLUMNS)}) "
                f"VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))}) "
                f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET {assignments} "
                f"WHERE {t}.last_attempted_on < excluded.last_attempted_on",
                values,
            )
            return bool(cursor.rowcount)

    def list_scope(
        self, *, user_id: str, collection_id: str, context_id: str, content_id: str | None = None
    ) -> list[Attempt]:
        records = AttemptRecord.objects.filter(
            user_id=user_id, collection_id=collection_id, context_id=context_id
        )
        if content_id is not None:
            records = records.filter(content_id=content_id)
        return [_to_domain(r) for r in records.order_by("content_id", "attempt_id")]

    def delete_scope(
        self, *, user_id: str, collection_id: str, context_id: str, content_id: str | None = None
    ) -> None:
        records = AttemptRecord.objects.filter(
            user_id=user_id, collection_id=collection_id, context_id=context_id
        )
        if content_id is not None:
            records = records.filter(content_id=content_id)
        records.delete()
        if content_id is None:
            AttemptArchiveRecord.objects.filter(
                user_id=user_id, collection_id=collection_id, context_id=context_id
            ).delete()

    def archived_scores(
        self, *, user_id: str, scopes: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], archived.ArchivedScores]:
        if not scopes:
            return {}
        records = AttemptArchiveRecord.objects.filter(
            user_id=user_id,
            collection_id__in={coll for coll, _ in scopes},
            context_id__in={ctx for _, ctx in scopes},
        )
        wanted = set(scopes)
        return {
            (r.collection_id, r.context_id): dict(r.best)
            for r in records
            if (r.collection_id, r.context_id) in wanted
        }

    def archive_scope(
        self,
        *,
        user_id: str,
        collection_id: str,
        context_id: str,
        attempts: Sequence[Attempt],
        at: datetime,
    ) -> int:
        """In one transaction: delete each attempt unless it was replaced since it was read,
        and fold the deleted ones into the scope's archived scores."""
        scope = {"user_id": user_id, "collection_id": collection_id, "context_id": context_id}
        deleted = []
        with transaction.atomic():
            for attempt in attempts:
                count, _ = AttemptRecord.objects.filter(
                    **scope,
                    content_id=attempt.key.content_id,
                    attempt_id=attempt.attempt_id,
                    last_attempted_on=attempt.assessment_ts,
                ).delete()
                if count:
                    deleted.append(attempt)
            if not deleted:
                return 0
            record = AttemptArchiveRecord.objects.select_for_update().filter(**scope).first()
            best = archived.folded(record.best if record is not None else {}, deleted)
            if record is None:
                AttemptArchiveRecord.objects.create(**scope, best=best, archived_on=at)
            else:
                record.best, record.archived_on = best, at
                record.save(update_fields=["best", "archived_on"])
        return len(deleted)

    def ping(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
