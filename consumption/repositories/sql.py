"""user_content_consumption on the relational database (Django ORM; SQLite or PostgreSQL).

Each write is one statement touching one row by its unique key, so no transaction is needed
and concurrent writers cannot interleave inside an operation.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, F, FloatField, IntegerField, Value
from django.db.models.functions import Coalesce, Greatest

from viewer import timeutil
from viewer.identifiers import ConsumptionKey, Scope

from ..domain import Consumption, Status, WriteOutcome
from ..models import ConsumptionRecord


def _key_filter(key: ConsumptionKey) -> dict[str, str]:
    return {
        "user_id": key.user_id,
        "collection_id": key.collection_id,
        "context_id": key.context_id,
        "content_id": key.content_id,
    }


def _later_access(at: datetime) -> Any:
    moment = Value(at, output_field=DateTimeField())
    return Greatest(Coalesce(F("last_access_time"), moment), moment)


def _to_domain(record: ConsumptionRecord) -> Consumption:
    return Consumption(
        key=ConsumptionKey(
            user_id=record.user_id,
            collection_id=record.collection_id,
            context_id=record.context_id,
            content_id=record.content_id,
        ),
        status=record.status,
        progress=record.progress,
        progress_details=record.progress_details,
        time_spent=record.time_spent,
        last_access_time=record.last_access_time,
        last_completed_time=record.last_completed_time,
        last_updated_time=record.last_updated_time,
        provenance=record.provenance,
    )


class SqlConsumptionRepository:
    def start(self, *, key: ConsumptionKey, at: datetime) -> None:
        ConsumptionRecord.objects.bulk_create(
            [
                ConsumptionRecord(
                    **_key_filter(key),
                    status=Status.IN_PROGRESS,
                    progress=0,
                    time_spent=0.0,
                    last_access_time=at,
                    last_updated_time=timeutil.now(),
                )
            ],
            ignore_conflicts=True,
        )

    def _conditional_update(self, key: ConsumptionKey, **changes: Any) -> WriteOutcome:
        changed = ConsumptionRecord.objects.filter(
            **_key_filter(key), status__lt=Status.COMPLETED
        ).update(**changes, last_updated_time=timeutil.now())
        if changed:
            return WriteOutcome.APPLIED
        if ConsumptionRecord.objects.filter(**_key_filter(key)).exists():
            return WriteOutcome.UNCHANGED
        return WriteOutcome.MISSING

    def update(
        self,
        *,
        key: ConsumptionKey,
        at: datetime,
        progress_details: dict[str, Any],
        progress: int | None,
        time_spent: float | None,
    ) -> WriteOutcome:
        changes: dict[str, Any] = {
            "status": Status.IN_PROGRESS,
            "progress_details": progress_details,
            "last_access_time": _later_access(at),
        }
        if progress is not None:
            changes["progress"] = Greatest(F("progress"), Value(progress, IntegerField()))
        if time_spent is not None:
            spent = Value(time_spent, FloatField())
            changes["time_spent"] = Greatest(Coalesce(F("time_spent"), spent), spent)
        return self._conditional_update(key, **changes)

    def end(
        self, *, key: ConsumptionKey, at: datetime, progress_details: dict[str, Any] | None
    ) -> WriteOutcome:
        changes: dict[str, Any] = {
            "status": Status.COMPLETED,
            "progress": 100,
            "last_completed_time": at,
            "last_access_time": _later_access(at),
        }
        if progress_details is not None:
            changes["progress_details"] = progress_details
        return self._conditional_update(key, **changes)

    def get_many(self, *, user_id: str, keys: Sequence[ConsumptionKey]) -> list[Consumption]:
        if not keys:
            return []
        wanted = set(keys)
        # One indexed query over the key's columns; the exact keys are picked out here.
        records = ConsumptionRecord.objects.filter(
            user_id=user_id,
            collection_id__in={k.collection_id for k in keys},
            context_id__in={k.context_id for k in keys},
            content_id__in={k.content_id for k in keys},
        )
        rows = [_to_domain(r) for r in records]
        return [row for row in rows if row.key in wanted]

    def list_scope(self, *, scope: Scope) -> list[Consumption]:
        records = ConsumptionRecord.objects.filter(
            user_id=scope.user_id,
            collection_id=scope.collection_id,
            context_id=scope.context_id,
        ).order_by("content_id")
        return [_to_domain(r) for r in records]

    def ping(self) -> None:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
