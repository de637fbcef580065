"""user_enrolments on Apache Cassandra (prepared statements; LWT for the create-or-activate)."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from viewer import cql, timeutil

from ..domain import Aggregate, Enrolment, StoredAggregate

TABLE = "{ks}.user_enrolments"
COLUMNS = (
    "userid, collectionid, contextid, active, enrolled_date, status, progress, completedon, "
    "issued_certificates, last_updated_time"
)
SELECT_ONE = (
    f"SELECT {COLUMNS} FROM {TABLE} WHERE userid = ? AND collectionid = ? AND contextid = ?"
)
SELECT_USER = f"SELECT {COLUMNS} FROM {TABLE} WHERE userid = ?"
SELECT_USERS = f"SELECT DISTINCT userid FROM {TABLE}"
CREATE = (
    f"INSERT INTO {TABLE} (userid, collectionid, contextid, active, enrolled_date, status, "
    "progress, last_updated_time) VALUES (?, ?, ?, true, ?, 0, 0, ?) IF NOT EXISTS"
)
IMPORT = (
    f"INSERT INTO {TABLE} (userid, collectionid, contextid, active, enrolled_date, status, "
    "progress, completedon, issued_certificates, last_updated_time) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"
)
SET_ACTIVE = (
    f"UPDATE {TABLE} SET active = ?, last_updated_time = ? "
    "WHERE userid = ? AND collectionid = ? AND contextid = ? IF EXISTS"
)


RECORD_PROGRESS = (
    f"UPDATE {TABLE} SET progress = ?, status = ?, completedon = ?, last_updated_time = ? "
    "WHERE userid = ? AND collectionid = ? AND contextid = ? IF status < 2"
)
DELETE_ENROLMENT = (
    f"DELETE FROM {TABLE} WHERE userid = ? AND collectionid = ? AND contextid = ? IF EXISTS"
)
COURSE = "Course"
AGG_TABLE = "{ks}.user_activity_agg"
AGG_KEY = "activity_type = ? AND activity_id = ? AND user_id = ? AND context_id = ?"
# Rows of one user are written by one recompute at a time (summaries.coordination): plain
# writes, each replacing the whole row (content_status is a frozen map, written whole).
SAVE_AGG = (
    f"INSERT INTO {AGG_TABLE} (activity_type, activity_id, user_id, context_id, agg, "
    "aggregates, content_status, agg_last_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
GET_AGG = (
    f"SELECT agg, aggregates, content_status, agg_last_updated FROM {AGG_TABLE} WHERE {AGG_KEY}"
)
DELETE_AGG = f"DELETE FROM {AGG_TABLE} WHERE {AGG_KEY}"


def _to_domain(row: dict[str, Any]) -> Enrolment:
    return Enrolment(
        user_id=row["userid"],
        collection_id=row["collectionid"],
        context_id=row["contextid"],
        active=bool(row["active"]),
        enrolled_date=cql.aware(row["enrolled_date"]),
        status=row["status"] or 0,
        progress=row["progress"] or 0,
        completed_on=cql.aware(row["completedon"]),
        issued_certificates=tuple(dict(c) for c in row["issued_certificates"] or ()),
        last_updated_time=cql.aware(row["last_updated_time"]),
    )


class CassandraEnrolmentRepository:
    def get(self, *, user_id: str, collection_id: str, context_id: str) -> Enrolment | None:
        row = cql.execute(SELECT_ONE, (user_id, collection_id, context_id)).one()
        return None if row is None else _to_domain(row)

    def list_for_user(self, *, user_id: str) -> list[Enrolment]:
        return [_to_domain(row) for row in cql.execute(SELECT_USER, (user_id,))]

    def user_ids(self) -> Iterator[str]:
        for row in cql.execute(SELECT_USERS, ()):  # the driver pages through the table
            yield row["userid"]

    def activate(self, *, user_id: str, collection_id: str, context_id: str, at: datetime) -> None:
        now = timeutil.now()
        created = cql.execute(CREATE, (user_id, collection_id, context_id, at, now)).one()
        if not created["[applied]"]:
            cql.execute(SET_ACTIVE, (True, now, user_id, collection_id, context_id))

    def import_enrolment(self, *, enrolment: Enrolment) -> bool:
        answer = cql.execute(
            IMPORT,
            (
                enrolment.user_id,
                enrolment.collection_id,
                enrolment.context_id,
                enrolment.active,
                enrolment.enrolled_date or timeutil.EPOCH,
                enrolment.status,
                enrolment.progress,
                enrolment.completed_on,
                [dict(c) for c in enrolment.issued_certificates],
                enrolment.last_updated_time or timeutil.now(),
            ),
        ).one()
        return bool(answer["[applied]"])

    def deactivate(self, *, user_id: str, collection_id: str, context_id: str) -> None:
        cql.execute(SET_ACTIVE, (False, timeutil.now(), user_id, collection_id, context_id))

    def record_progress(
        self,
        *,
        user_id: str,
        collection_id: str,
        context_id: str,
        progress: int,
        status: int,
        completed_on: datetime | None,
    ) -> bool:
        result = cql.execute(
            RECORD_PROGRESS,
            (progress, status, completed_on, timeutil.now(), user_id, collection_id, context_id),
        ).one()
        return bool(result["[applied]"]) and status == 2

    def delete(self, *, user_id: str, collection_id: str, context_id: str) -> None:
        cql.execute(DELETE_ENROLMENT, (user_id, collection_id, context_id))


class CassandraAggregateRepository:
    def save(self, *, aggregate: Aggregate) -> None:
        at = aggregate.computed_at or timeutil.now()
        rows: list[tuple[str, dict[str, int], dict[str, float], dict[str, int] | None]] = [
            (
                aggregate.collection_id,
                {"completedCount": aggregate.completed_count},
                aggregate.aggregates(),
                aggregate.content_status,
            )
        ]
        rows += [
            (unit, {"completedCount": count}, {"completedCount": float(count)}, None)
            for unit, count in aggregate.unit_counts.items()
        ]
        cql.execute_many(
            SAVE_AGG,
            [
                (
                    COURSE,
                    activity_id,
                    aggregate.user_id,
                    aggregate.context_id,
                    agg,
                    values,
                    status,
                    dict.fromkeys(values, at),
                )
                for activity_id, agg, values, status in rows
            ],
        )

    def get(self, *, user_id: str, collection_id: str, context_id: str) -> StoredAggregate | None:
        row = cql.execute(GET_AGG, (COURSE, collection_id, user_id, context_id)).one()
        if row is None:
            return None
        stamps = [cql.aware(t) for t in (row["agg_last_updated"] or {}).values()]
        return StoredAggregate(
            content_status=dict(row["content_status"] or {}),
            aggregates={
                **{k: float(v) for k, v in (row["agg"] or {}).items()},
                **dict(row["aggregates"] or {}),
            },
            last_updated=max((t for t in stamps if t is not None), default=None),
        )

    def delete(
        self, *, user_id: str, collection_id: str, context_id: str, unit_ids: list[str]
    ) -> None:
        cql.execute_many(
            DELETE_AGG,
            [
                (COURSE, activity_id, user_id, context_id)
                for activity_id in (collection_id, *unit_ids)
            ],
        )
