"""user_content_consumption on the relational database (SQLite or PostgreSQL).

Each write is one statement touching one row by its unique key, so no transaction is needed and
concurrent writers cannot interleave inside an operation. The statements are written out in
portable SQL (no ORM query building on the request path: it cost more than the query itself);
the model (``ConsumptionRecord``) owns the schema and its migrations.
"""

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from viewer import timeutil
from viewer.identifiers import ConsumptionKey, Scope

from ..domain import Consumption, Status, WriteOutcome
from ..models import ConsumptionRecord
from . import archived

KEY_COLUMNS = ("user_id", "collection_id", "context_id", "content_id")
ROW_COLUMNS = (
    *KEY_COLUMNS,
    "status",
    "progress",
    "progress_details",
    "time_spent",
    "last_access_time",
    "last_completed_time",
    "last_updated_time",
    "provenance",
)
KEY_WHERE = " AND ".join(f"{col} = %s" for col in KEY_COLUMNS)
SELECT_ROWS = f"SELECT {', '.join(ROW_COLUMNS)} FROM {ConsumptionRecord._meta.db_table}"


def _later(column: str) -> str:
    """SQL for the later of ``column`` and a parameter (portable: no GREATEST on SQLite)."""
    return f"CASE WHEN {column} IS NULL OR {column} < %s THEN %s ELSE {column} END"


@cache
def _json_field() -> Any:
    return ConsumptionRecord._meta.get_field("progress_details")


def _json(value: Any) -> Any:
    return _json_field().get_db_prep_save(value, connection)


def _time(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _parse_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _parse_time(value: Any) -> datetime | None:
    parsed = value if value is None or isinstance(value, datetime) else parse_datetime(value)
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _to_domain(row: Sequence[Any]) -> Consumption:
    return Consumption(
        key=ConsumptionKey(*row[:4]),
        status=row[4],
        progress=row[5],
        progress_details=_parse_json(row[6]),
        time_spent=row[7] or 0.0,
        last_access_time=_parse_time(row[8]),
        last_completed_time=_parse_time(row[9]),
        last_updated_time=_parse_time(row[10]),
        provenance=_parse_json(row[11]),
    )


def _key_params(key: ConsumptionKey) -> list[Any]:
    return [key.user_id, key.collection_id, key.context_id, key.content_id]


class SqlConsumptionRepository:
    table = ConsumptionRecord._meta.db_table

    def start(self, *, key: ConsumptionKey, at: datetime) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} ({', '.join(KEY_COLUMNS)}, status, progress, "
                "time_spent, last_access_time, last_updated_time) "
                "VALUES (%s, %s, %s, %s, %s, 0, 0, %s, %s) ON CONFLICT DO NOTHING",
                [*_key_params(key), Status.IN_PROGRESS, _time(at), _time(timeutil.now())],
            )

    def _conditional_update(
        self, key: ConsumptionKey, assignments: list[str], params: list[Any]
    ) -> WriteOutcome:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET {', '.join(assignments)}, last_updated_time = %s "
                f"WHERE {KEY_WHERE} AND status < %s",
                [*params, _time(timeutil.now()), *_key_params(key), Status.COMPLETED],
            )
            if cursor.rowcount:
                return WriteOutcome.APPLIED
            cursor.execute(f"SELECT 1 FROM {self.table} WHERE {KEY_WHERE}", _key_params(key))
            if cursor.fetchone():
                return WriteOutcome.UNCHANGED
            scope = Scope(key.user_id, key.collection_id, key.context_id)
            cursor.execute(
                f"{SELECT_ROWS} WHERE {KEY_WHERE}", _key_params(archived.archive_key(scope))
            )
            found = cursor.fetchone()
            return archived.missing_outcome(
                None if found is None else _to_domain(found), key.content_id
            )

    def update(
        self,
        *,
        key: ConsumptionKey,
        at: datetime,
        progress_details: dict[str, Any],
        progress: int | None,
        time_spent: float | None,
    ) -> WriteOutcome:
        moment = _time(at)
        assignments = [
            "status = %s",
            "progress_details = %s",
            f"last_access_time = {_later('last_access_time')}",
        ]
        params: list[Any] = [Status.IN_PROGRESS, _json(progress_details), moment, moment]
        if progress is not None:
            assignments.append("progress = CASE WHEN progress < %s THEN %s ELSE progress END")
            params += [progress, progress]
        if time_spent is not None:
            assignments.append(f"time_spent = {_later('time_spent')}")
            params += [time_spent, time_spent]
        return self._conditional_update(key, assignments, params)

    def end(
        self, *, key: ConsumptionKey, at: datetime, progress_details: dict[str, Any] | None
    ) -> WriteOutcome:
        moment = _time(at)
        assignments = [
            "status = %s",
            "progress = 100",
            "last_completed_time = %s",
            f"last_access_time = {_later('last_access_time')}",
        ]
        params: list[Any] = [Status.COMPLETED, moment, moment, moment]
        if progress_details is not None:
            assignments.append("progress_details = %s")
            params.append(_json(progress_details))
        return self._conditional_update(key, assignments, params)

    def get_many(
        self, *, user_id: str, keys: Sequence[ConsumptionKey], lock: bool = False
    ) -> list[Consumption]:
        if not keys:
            return []
        # One indexed query over the key's columns; the exact keys are picked out here. The
        # scopes' archive rows come in the same query (content id "": see archived.py).
        conditions, params = ["user_id = %s"], [user_id]
        for column, values in (
            ("collection_id", {k.collection_id for k in keys}),
            ("context_id", {k.context_id for k in keys}),
            ("content_id", {k.content_id for k in keys} | {archived.ARCHIVE_CONTENT_ID}),
        ):
            conditions.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
            params.extend(sorted(values))
        with connection.cursor() as cursor:
            # In a transaction, PostgreSQL locks the rows read; SQLite holds the database lock.
            suffix = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
            cursor.execute(f"{SELECT_ROWS} WHERE {' AND '.join(conditions)}{suffix}", params)
            rows = [_to_domain(row) for row in cursor.fetchall()]
        return archived.resolved(rows, keys)

    def list_scope(self, *, scope: Scope) -> list[Consumption]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"{SELECT_ROWS} WHERE user_id = %s AND collection_id = %s AND context_id = %s "
                "ORDER BY content_id",
                [scope.user_id, scope.collection_id, scope.context_id],
            )
            return archived.expanded([_to_domain(row) for row in cursor.fetchall()])

    def list_user(self, *, user_id: str) -> list[Consumption]:
        with connection.cursor() as cursor:
            cursor.execute(f"{SELECT_ROWS} WHERE user_id = %s", [user_id])
            return [_to_domain(row) for row in cursor.fetchall()]

    def carry(
        self, *, source: Consumption, target: ConsumptionKey, provenance: dict[str, Any]
    ) -> bool:
        t = self.table
        values = [
            *_key_params(target),
            source.status,
            source.progress,
            _json(source.progress_details),
            source.time_spent,
            _time(source.last_access_time) if source.last_access_time else None,
            _time(source.last_completed_time) if source.last_completed_time else None,
            _time(timeutil.now()),
            _json(provenance),
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {t} ({', '.join(ROW_COLUMNS)}) "
                f"VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))}) "
                f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET "
                "status = excluded.status, "
                f"progress = CASE WHEN {t}.progress < excluded.progress "
                f"THEN excluded.progress ELSE {t}.progress END, "
                "last_completed_time = excluded.last_completed_time, "
                "last_updated_time = excluded.last_updated_time, "
                "provenance = excluded.provenance "
                f"WHERE {t}.status < excluded.status",
                values,
            )
            return bool(cursor.rowcount)

    def import_rows(self, *, rows: Sequence[Consumption]) -> int:
        """Rows from another system (a migration), in one transaction: each inserted when
        absent, or raised when the stored row is lower (a lower status, or less progress at
        the same status below 2) — never lowered. Returns how many rows were written."""
        t = self.table
        now = _time(timeutil.now())
        written = 0
        with transaction.atomic(), connection.cursor() as cursor:
            for row in rows:
                access, completed, updated = (
                    None if value is None else _time(value)
                    for value in (
                        row.last_access_time,
                        row.last_completed_time,
                        row.last_updated_time,
                    )
                )
                cursor.execute(
                    f"INSERT INTO {t} ({', '.join(ROW_COLUMNS)}) "
                    f"VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))}) "
                    f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET "
                    "status = excluded.status, "
                    f"progress = CASE WHEN {t}.progress < excluded.progress "
                    f"THEN excluded.progress ELSE {t}.progress END, "
                    f"progress_details = COALESCE(excluded.progress_details, "
                    f"{t}.progress_details), "
                    f"last_access_time = CASE WHEN {t}.last_access_time IS NULL "
                    f"OR {t}.last_access_time < excluded.last_access_time "
                    f"THEN excluded.last_access_time ELSE {t}.last_access_time END, "
                    f"last_completed_time = CASE WHEN {t}.status < 2 "
                    f"THEN excluded.last_completed_time ELSE {t}.last_completed_time END, "
                    "last_updated_time = %s "
                    f"WHERE {t}.status < excluded.status OR ({t}.status = excluded.status "
                    f"AND {t}.status < 2 AND {t}.progress < excluded.progress)",
                    [
                        *_key_params(row.key),
                        row.status,
                        row.progress,
                        _json(row.progress_details),
                        row.time_spent,
                        access,
                        completed,
                        updated or now,
                        _json(row.provenance),
                        now,
                    ],
                )
                written += cursor.rowcount
        return written

    def move(
        self,
        *,
        moves: Sequence[tuple[Consumption, ConsumptionKey, dict[str, Any]]],
        current: Mapping[ConsumptionKey, Consumption],
    ) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            # Re-read inside the transaction (which holds the write lock): the latest state moves.
            keys = [source.key for source, _, _ in moves]
            rows = self.get_many(user_id=keys[0].user_id, keys=keys, lock=True)
            fresh = {row.key: row for row in rows}
            for stale, target, provenance in moves:
                source = fresh.get(stale.key)
                if source is None:
                    continue
                self.carry(source=source, target=target, provenance=provenance)
                cursor.execute(
                    f"DELETE FROM {self.table} WHERE {KEY_WHERE}", _key_params(source.key)
                )

    def archive_scope(
        self, *, scope: Scope, rows: Sequence[Consumption], at: datetime
    ) -> list[ConsumptionKey]:
        """In one transaction: delete each row unless it changed since it was read (another
        last update time or status), and fold the deleted ones into the scope's archive row."""
        t = self.table
        deleted: list[Consumption] = []
        with transaction.atomic(), connection.cursor() as cursor:
            for row in rows:
                if archived.is_archive(row) or row.last_updated_time is None:
                    continue
                cursor.execute(
                    f"DELETE FROM {t} WHERE {KEY_WHERE} AND last_updated_time = %s AND status = %s",
                    [*_key_params(row.key), _time(row.last_updated_time), row.status],
                )
                if cursor.rowcount:
                    deleted.append(row)
            if not deleted:
                return []
            key = archived.archive_key(scope)
            suffix = " FOR UPDATE" if connection.features.has_select_for_update else ""
            cursor.execute(f"{SELECT_ROWS} WHERE {KEY_WHERE}{suffix}", _key_params(key))
            found = cursor.fetchone()
            archive = archived.packed(
                scope=scope,
                existing=None if found is None else _to_domain(found),
                rows=deleted,
                at=at,
            )
            times = (archive.last_access_time, archive.last_completed_time)
            cursor.execute(
                f"INSERT INTO {t} ({', '.join(ROW_COLUMNS)}) "
                f"VALUES ({', '.join(['%s'] * len(ROW_COLUMNS))}) "
                f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET "
                "progress_details = excluded.progress_details, "
                "last_access_time = excluded.last_access_time, "
                "last_completed_time = excluded.last_completed_time, "
                "last_updated_time = excluded.last_updated_time",
                [
                    *_key_params(key),
                    archive.status,
                    archive.progress,
                    _json(archive.progress_details),
                    archive.time_spent,
                    *(None if value is None else _time(value) for value in times),
                    _time(at),
                    _json(archive.provenance),
                ],
            )
        return [row.key for row in deleted]

    def delete_many(self, *, user_id: str, keys: Sequence[ConsumptionKey]) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for key in keys:
                cursor.execute(f"DELETE FROM {self.table} WHERE {KEY_WHERE}", _key_params(key))

    def ping(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
