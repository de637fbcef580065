"""user_enrolments on Apache Cassandra (prepared statements; LWT for the create-or-activate)."""

from datetime import datetime
from typing import Any

from viewer import cql, timeutil

from ..domain import Enrolment

TABLE = "{ks}.user_enrolments"
COLUMNS = (
    "userid, collectionid, contextid, active, enrolled_date, status, progress, completedon, "
    "issued_certificates, last_updated_time"
)
SELECT_ONE = (
    f"SELECT {COLUMNS} FROM {TABLE} WHERE userid = ? AND collectionid = ? AND contextid = ?"
)
SELECT_USER = f"SELECT {COLUMNS} FROM {TABLE} WHERE userid = ?"
CREATE = (
    f"INSERT INTO {TABLE} (userid, collectionid, contextid, active, enrolled_date, status, "
    "progress, last_updated_time) VALUES (?, ?, ?, true, ?, 0, 0, ?) IF NOT EXISTS"
)
SET_ACTIVE = (
    f"UPDATE {TABLE} SET active = ?, last_updated_time = ? "
    "WHERE userid = ? AND collectionid = ? AND contextid = ? IF EXISTS"
)


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

    def activate(self, *, user_id: str, collection_id: str, context_id: str, at: datetime) -> None:
        now = timeutil.now()
        created = cql.execute(CREATE, (user_id, collection_id, context_id, at, now)).one()
        if not created["[applied]"]:
            cql.execute(SET_ACTIVE, (True, now, user_id, collection_id, context_id))

    def deactivate(self, *, user_id: str, collection_id: str, context_id: str) -> None:
        cql.execute(SET_ACTIVE, (False, timeutil.now(), user_id, collection_id, context_id))
