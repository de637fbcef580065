"""user_content_consumption on Apache Cassandra (VIEWER_STORE=cassandra).

Every write is one lightweight transaction on one row: start is ``INSERT ... IF NOT EXISTS``,
update and end are ``UPDATE ... IF status < 2 AND ...`` (not applied on a missing row: no upsert).
Columns that only rise (progress, time spent, last access) are written under ``IF col <= new``;
when another writer got there first, the statement's own answer carries the current values and
the write is retried without the columns already higher. No read precedes a write.
"""

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from viewer import cql, metrics, timeutil
from viewer.errors import StoreUnavailableError
from viewer.identifiers import ConsumptionKey, Scope

from ..domain import Consumption, Status, WriteOutcome
from . import archived

TABLE = "{ks}.user_content_consumption"
COLUMNS = (
    "userid, collectionid, contextid, contentid, status, progress, progressdetails, timespent, "
    "last_access_time, last_completed_time, last_updated_time, provenance"
)
KEY_WHERE = "userid = ? AND collectionid = ? AND contextid = ? AND contentid = ?"
START = (
    f"INSERT INTO {TABLE} (userid, collectionid, contextid, contentid, status, progress, "
    "timespent, last_access_time, last_updated_time) VALUES (?, ?, ?, ?, 1, 0, 0, ?, ?) "
    "IF NOT EXISTS"
)
SELECT_CONTENTS = (
    f"SELECT {COLUMNS} FROM {TABLE} WHERE userid = ? AND collectionid = ? AND contextid = ? "
    "AND contentid IN ?"
)
SELECT_SCOPE = (
    f"SELECT {COLUMNS} FROM {TABLE} WHERE userid = ? AND collectionid = ? AND contextid = ?"
)
SELECT_USER = f"SELECT {COLUMNS} FROM {TABLE} WHERE userid = ?"
CARRY_INSERT = (
    f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
)
CARRY_RAISE = (
    f"UPDATE {TABLE} SET status = ?, progress = ?, last_completed_time = ?, "
    f"last_updated_time = ?, provenance = ? WHERE {KEY_WHERE} IF status < ?"
)
MOVE_RAISE = (
    f"UPDATE {TABLE} SET status = ?, progress = ?, last_completed_time = ?, "
    f"last_updated_time = ?, provenance = ? WHERE {KEY_WHERE} IF status = ?"
)
IMPORT_RAISE = (
    f"UPDATE {TABLE} SET status = ?, progress = ?, progressdetails = ?, last_access_time = ?, "
    f"last_completed_time = ?, last_updated_time = ? WHERE {KEY_WHERE} "
    "IF status = ? AND progress = ?"
)
SELECT_ONE = f"SELECT {COLUMNS} FROM {TABLE} WHERE {KEY_WHERE}"
# Rounds of an import of one row that keeps meeting concurrent changes.
IMPORT_ROUNDS = 4
DELETE_ROW = f"DELETE FROM {TABLE} WHERE {KEY_WHERE} IF EXISTS"
# Any write to a row changes last_updated_time: a source changed since it was read is detected.
MOVE_DELETE = f"DELETE FROM {TABLE} WHERE {KEY_WHERE} IF last_updated_time = ?"
ARCHIVE_REWRITE = (
    f"UPDATE {TABLE} SET progressdetails = ?, last_access_time = ?, last_completed_time = ?, "
    f"last_updated_time = ? WHERE {KEY_WHERE} IF last_updated_time = ?"
)
# An archived row is deleted only as it was read (and exported): a row written since stays.
ARCHIVE_DELETE = f"DELETE FROM {TABLE} WHERE {KEY_WHERE} IF last_updated_time = ? AND status = ?"
# Rounds of an archive-row write that keeps meeting a concurrent writer of the same row.
ARCHIVE_ROUNDS = 3
# Rounds of a move that keeps meeting concurrent changes before it gives up (nothing written).
MOVE_ROUNDS = 5


def _key_params(key: ConsumptionKey) -> tuple[str, str, str, str]:
    return (key.user_id, key.collection_id, key.context_id, key.content_id)


def _to_domain(row: dict[str, Any]) -> Consumption:
    details = row["progressdetails"]
    provenance = row["provenance"]
    return Consumption(
        key=ConsumptionKey(
            user_id=row["userid"],
            collection_id=row["collectionid"],
            context_id=row["contextid"],
            content_id=row["contentid"],
        ),
        status=row["status"] or 0,
        progress=row["progress"] or 0,
        progress_details=None if details is None else json.loads(details),
        time_spent=row["timespent"] or 0.0,
        last_access_time=cql.aware(row["last_access_time"]),
        last_completed_time=cql.aware(row["last_completed_time"]),
        last_updated_time=cql.aware(row["last_updated_time"]),
        provenance=None if provenance is None else json.loads(provenance),
    )


def _lower(status: int | None, progress: int | None, row: Consumption) -> bool:
    """Whether a stored (status, progress) is below ``row``'s: a lower status, or less
    progress at the same status below completion."""
    stored = status or 0
    return stored < row.status or (
        stored == row.status < Status.COMPLETED and (progress or 0) < row.progress
    )


def _update_cql(fixed: Sequence[str], raised: Sequence[str], guarded: Sequence[str]) -> str:
    assignments = ", ".join(f"{col} = ?" for col in (*fixed, *raised))
    conditions = " AND ".join(["status < 2", *(f"{col} <= ?" for col in guarded)])
    return f"UPDATE {TABLE} SET {assignments} WHERE {KEY_WHERE} IF {conditions}"


def _current(value: Any) -> Any:
    """A value as the driver returned it, with datetimes made aware (it returns naive UTC)."""
    return cql.aware(value) if isinstance(value, datetime) else value


class CassandraConsumptionRepository:
    def start(self, *, key: ConsumptionKey, at: datetime) -> None:
        answer = cql.execute(START, (*_key_params(key), at, timeutil.now())).one()
        if answer is not None and not answer["[applied]"]:
            metrics.child(metrics.LWT_NOT_APPLIED, "start", "exists").inc()

    def _conditional_update(
        self,
        key: ConsumptionKey,
        fixed: dict[str, Any],
        raised: dict[str, Any],
        operation: str = "update",
    ) -> WriteOutcome:
        """Set ``fixed`` columns and raise ``raised`` ones on a row that exists, not completed.

        Each raised column is written under ``IF col <= new``. When the write is not applied,
        the answer carries the current values: a column already higher than ours is left out
        (it only ever rises, so that stays true) and the write is retried. A column whose
        current value is null (rows from elsewhere) is written without a guard. So the loop
        ends after at most one round per raised column.
        """
        fixed = {**fixed, "last_updated_time": timeutil.now()}
        raised = dict(raised)
        guarded = list(raised)
        for _ in range(len(raised) + 2):
            statement = _update_cql(list(fixed), list(raised), guarded)
            params = (
                *fixed.values(),
                *raised.values(),
                *_key_params(key),
                *(raised[col] for col in guarded),
            )
            result = cql.execute(statement, params).one()
            if result["[applied]"]:
                return WriteOutcome.APPLIED
            if result.get("status") is None:
                metrics.child(metrics.LWT_NOT_APPLIED, operation, "missing").inc()
                return self._missing_outcome(key)
            if result["status"] >= Status.COMPLETED:
                metrics.child(metrics.LWT_NOT_APPLIED, operation, "completed").inc()
                return WriteOutcome.UNCHANGED
            metrics.child(metrics.LWT_NOT_APPLIED, operation, "contended").inc()
            for col in list(guarded):
                current = _current(result.get(col))
                if current is None:
                    guarded.remove(col)
                elif current > raised[col]:
                    guarded.remove(col)
                    del raised[col]
        raise StoreUnavailableError("The row kept changing under concurrent writes; retry.")

    def update(
        self,
        *,
        key: ConsumptionKey,
        at: datetime,
        progress_details: dict[str, Any],
        progress: int | None,
        time_spent: float | None,
    ) -> WriteOutcome:
        raised: dict[str, Any] = {"last_access_time": at}
        if progress is not None:
            raised["progress"] = progress
        if time_spent is not None:
            raised["timespent"] = float(time_spent)
        fixed = {"status": Status.IN_PROGRESS, "progressdetails": json.dumps(progress_details)}
        return self._conditional_update(key, fixed, raised)

    def end(
        self, *, key: ConsumptionKey, at: datetime, progress_details: dict[str, Any] | None
    ) -> WriteOutcome:
        fixed: dict[str, Any] = {
            "status": Status.COMPLETED,
            "progress": 100,
            "last_completed_time": at,
        }
        if progress_details is not None:
            fixed["progressdetails"] = json.dumps(progress_details)
        return self._conditional_update(key, fixed, {"last_access_time": at}, operation="end")

    def get_many(self, *, user_id: str, keys: Sequence[ConsumptionKey]) -> list[Consumption]:
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for key in keys:
            groups[(key.collection_id, key.context_id)].append(key.content_id)
        # Each scope's archive row (content id "": see archived.py) comes in the same query.
        results = cql.execute_many(
            SELECT_CONTENTS,
            [
                (user_id, coll, ctx, list(dict.fromkeys([*contents, archived.ARCHIVE_CONTENT_ID])))
                for (coll, ctx), contents in groups.items()
            ],
        )
        return archived.resolved([_to_domain(row) for result in results for row in result], keys)

    def list_scope(self, *, scope: Scope) -> list[Consumption]:
        result = cql.execute(SELECT_SCOPE, (scope.user_id, scope.collection_id, scope.context_id))
        return archived.expanded([_to_domain(row) for row in result])

    def list_user(self, *, user_id: str) -> list[Consumption]:
        return [_to_domain(row) for row in cql.execute(SELECT_USER, (user_id,))]

    def carry(
        self, *, source: Consumption, target: ConsumptionKey, provenance: dict[str, Any]
    ) -> bool:
        details = None if source.progress_details is None else json.dumps(source.progress_details)
        record = json.dumps(provenance)
        result = cql.execute(
            CARRY_INSERT,
            (
                *_key_params(target),
                source.status,
                source.progress,
                details,
                source.time_spent,
                source.last_access_time,
                source.last_completed_time,
                timeutil.now(),
                record,
            ),
        ).one()
        for _ in range(2):
            if result["[applied]"]:
                return True
            if result.get("status") is None or result["status"] >= source.status:
                return False
            # A lower row is raised to the source's state (an LWT like every write of a row).
            result = cql.execute(
                CARRY_RAISE,
                (
                    source.status,
                    max(result.get("progress") or 0, source.progress),
                    source.last_completed_time,
                    timeutil.now(),
                    record,
                    *_key_params(target),
                    source.status,
                ),
            ).one()
        return False

    def import_rows(self, *, rows: Sequence[Consumption]) -> int:
        """``INSERT ... IF NOT EXISTS`` for every row at once; a row that exists lower is raised
        by ``UPDATE ... IF`` the state the insert's answer showed (retried on a concurrent
        change), so like every write of a row it is a lightweight transaction."""
        now = timeutil.now()
        answers = cql.execute_many(
            CARRY_INSERT,
            [
                (
                    *_key_params(row.key),
                    row.status,
                    row.progress,
                    None if row.progress_details is None else json.dumps(row.progress_details),
                    row.time_spent,
                    row.last_access_time,
                    row.last_completed_time,
                    row.last_updated_time or now,
                    None if row.provenance is None else json.dumps(row.provenance),
                )
                for row in rows
            ],
        )
        written = 0
        for row, answer in zip(rows, answers, strict=True):
            current = answer.one()  # not applied: the stored row
            for _ in range(IMPORT_ROUNDS):
                if current is None or current.get("[applied]"):
                    written += current is not None
                    break
                status, progress = current.get("status"), current.get("progress")
                if not _lower(status, progress, row):
                    break
                access = max(
                    (t for t in (_current(current["last_access_time"]), row.last_access_time) if t),
                    default=None,
                )
                details = (
                    current["progressdetails"]
                    if row.progress_details is None
                    else json.dumps(row.progress_details)
                )
                completed = (
                    row.last_completed_time
                    if row.status >= Status.COMPLETED
                    else _current(current["last_completed_time"])
                )
                params = (row.status, max(progress or 0, row.progress), details, access)
                answer_row = cql.execute(
                    IMPORT_RAISE,
                    (*params, completed, timeutil.now(), *_key_params(row.key), status, progress),
                ).one()
                if answer_row["[applied]"]:
                    written += 1
                    break
                current = cql.execute(SELECT_ONE, _key_params(row.key)).one()
        return written

    def move(
        self,
        *,
        moves: Sequence[tuple[Consumption, ConsumptionKey, dict[str, Any]]],
        current: Mapping[ConsumptionKey, Consumption],
    ) -> None:
        """One conditional batch on the user's partition: every target written and every source
        deleted together, each guarded by the state last read; on a conflict, read and retry."""
        pending = list(moves)
        for _ in range(MOVE_ROUNDS):
            if not pending:
                return
            if cql.execute_conditional_batch(self._move_statements(pending, current)):
                return
            user_id = pending[0][0].key.user_id
            current = {row.key: row for row in self.list_user(user_id=user_id)}
            # A source deleted meanwhile has nothing left to move.
            pending = [(current[s.key], t, p) for s, t, p in pending if s.key in current]
        raise StoreUnavailableError("The rows kept changing during the move; nothing moved.")

    def _move_statements(
        self,
        moves: Sequence[tuple[Consumption, ConsumptionKey, dict[str, Any]]],
        current: Mapping[ConsumptionKey, Consumption],
    ) -> list[tuple[str, tuple[Any, ...]]]:
        now = timeutil.now()
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for source, target, provenance in moves:
            record = json.dumps(provenance)
            existing = current.get(target)
            if existing is None:
                details = source.progress_details
                statements.append(
                    (
                        CARRY_INSERT,
                        (
                            *_key_params(target),
                            source.status,
                            source.progress,
                            None if details is None else json.dumps(details),
                            source.time_spent,
                            source.last_access_time,
                            source.last_completed_time,
                            now,
                            record,
                        ),
                    )
                )
            elif existing.status < source.status:
                statements.append(
                    (
                        MOVE_RAISE,
                        (
                            source.status,
                            max(existing.progress, source.progress),
                            source.last_completed_time,
                            now,
                            record,
                            *_key_params(target),
                            existing.status,
                        ),
                    )
                )
            statements.append((MOVE_DELETE, (*_key_params(source.key), source.last_updated_time)))
        return statements

    def _missing_outcome(self, key: ConsumptionKey) -> WriteOutcome:
        scope = Scope(key.user_id, key.collection_id, key.context_id)
        found = cql.execute(SELECT_ONE, _key_params(archived.archive_key(scope))).one()
        archive = None if found is None else _to_domain(found)
        return archived.missing_outcome(archive, key.content_id)

    def _put_archive(self, archive: Consumption, expected: Consumption | None) -> bool:
        """Write the archive row if it is still ``expected`` (absent, or that version)."""
        details = json.dumps(archive.progress_details)
        times = (archive.last_access_time, archive.last_completed_time, archive.last_updated_time)
        if expected is None:
            values = (archive.status, archive.progress, details, archive.time_spent, *times, None)
            answer = cql.execute(CARRY_INSERT, (*_key_params(archive.key), *values)).one()
        else:
            answer = cql.execute(
                ARCHIVE_REWRITE,
                (details, *times, *_key_params(archive.key), expected.last_updated_time),
            ).one()
        return bool(answer["[applied]"])

    def archive_scope(
        self, *, scope: Scope, rows: Sequence[Consumption], at: datetime
    ) -> list[ConsumptionKey]:
        """The archive row first (every row folded in, a lightweight transaction on its last
        version), then each row deleted under ``IF`` its last update time and status are as
        read. Rows that stayed are taken out of the archive row again (they are live)."""
        rows = [row for row in rows if not archived.is_archive(row)]
        if not rows:
            return []
        key = archived.archive_key(scope)
        for _ in range(ARCHIVE_ROUNDS):
            found = cql.execute(SELECT_ONE, _key_params(key)).one()
            base = None if found is None else _to_domain(found)
            archive = archived.packed(scope=scope, existing=base, rows=rows, at=at)
            if self._put_archive(archive, base):
                break
        else:
            raise StoreUnavailableError("The archive row kept changing; nothing was archived.")
        answers = cql.execute_many(
            ARCHIVE_DELETE,
            [(*_key_params(row.key), row.last_updated_time, row.status) for row in rows],
        )
        deleted = [
            row for row, answer in zip(rows, answers, strict=True) if answer.one()["[applied]"]
        ]
        if len(deleted) < len(rows):
            later = max(timeutil.now(), at + timedelta(milliseconds=1))
            # Best effort: an archive entry of a row that stayed is harmless (reads merge).
            self._put_archive(
                archived.packed(scope=scope, existing=base, rows=deleted, at=later), archive
            )
        return [row.key for row in deleted]

    def delete_many(self, *, user_id: str, keys: Sequence[ConsumptionKey]) -> None:
        cql.execute_many(DELETE_ROW, [_key_params(key) for key in keys])

    def ping(self) -> None:
        cql.ping()
