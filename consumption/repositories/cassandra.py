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
from datetime import datetime
from typing import Any

from viewer import cql, timeutil
from viewer.errors import StoreUnavailableError
from viewer.identifiers import ConsumptionKey, Scope

from ..domain import Consumption, Status, WriteOutcome

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
DELETE_ROW = f"DELETE FROM {TABLE} WHERE {KEY_WHERE} IF EXISTS"
# Any write to a row changes last_updated_time: a source changed since it was read is detected.
MOVE_DELETE = f"DELETE FROM {TABLE} WHERE {KEY_WHERE} IF last_updated_time = ?"
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


def _update_cql(fixed: Sequence[str], raised: Sequence[str], guarded: Sequence[str]) -> str:
    assignments = ", ".join(f"{col} = ?" for col in (*fixed, *raised))
    conditions = " AND ".join(["status < 2", *(f"{col} <= ?" for col in guarded)])
    return f"UPDATE {TABLE} SET {assignments} WHERE {KEY_WHERE} IF {conditions}"


def _current(value: Any) -> Any:
    """A value as the driver returned it, with datetimes made aware (it returns naive UTC)."""
    return cql.aware(value) if isinstance(value, datetime) else value


class CassandraConsumptionRepository:
    def start(self, *, key: ConsumptionKey, at: datetime) -> None:
        cql.execute(START, (*_key_params(key), at, timeutil.now()))

    def _conditional_update(
        self, key: ConsumptionKey, fixed: dict[str, Any], raised: dict[str, Any]
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
                return WriteOutcome.MISSING
            if result["status"] >= Status.COMPLETED:
                return WriteOutcome.UNCHANGED
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
        return self._conditional_update(key, fixed, {"last_access_time": at})

    def get_many(self, *, user_id: str, keys: Sequence[ConsumptionKey]) -> list[Consumption]:
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for key in keys:
            groups[(key.collection_id, key.context_id)].append(key.content_id)
        results = cql.execute_many(
            SELECT_CONTENTS,
            [(user_id, coll, ctx, contents) for (coll, ctx), contents in groups.items()],
        )
        return [_to_domain(row) for result in results for row in result]

    def list_scope(self, *, scope: Scope) -> list[Consumption]:
        result = cql.execute(SELECT_SCOPE, (scope.user_id, scope.collection_id, scope.context_id))
        return [_to_domain(row) for row in result]

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

    def delete_many(self, *, user_id: str, keys: Sequence[ConsumptionKey]) -> None:
        cql.execute_many(DELETE_ROW, [_key_params(key) for key in keys])

    def ping(self) -> None:
        cql.ping()
