"""A small legacy ``sunbird_courses`` data set with every case the migration must handle, the
catalogue it belongs to, and what the legacy enrolment list would have shown for it."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from migration.csvexport import write_table
from migration.legacy import ACTIVITY_AGG, ATTEMPTS, CONSUMPTION, ENROLMENTS, schema_statements


def t(day: int, hour: int = 10, ms: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, 0, 0, ms * 1000, tzinfo=UTC)


# course-a: A1, A2 in unit u-1, A3 on its own (3 required leaves); course-b: B1, and B2
# optional; course-c is not in the catalogue.
CATALOGUE = {
    "course-a": [
        {"identifier": "u-1", "children": [{"identifier": "A1"}, {"identifier": "A2"}]},
        {"identifier": "A3"},
    ],
    "course-b": [{"identifier": "B1"}, {"identifier": "B2", "optional": True}],
}
LEAVES = {"course-a": ["A1", "A2", "A3"], "course-b": ["B1", "B2"]}
REQUIRED = {"course-a": ["A1", "A2", "A3"], "course-b": ["B1"]}


def _row(
    user: str, course: str, batch: str, content: str, status: int | None, **extra: Any
) -> dict[str, Any]:
    return {
        "userid": user,
        "courseid": course,
        "batchid": batch,
        "contentid": content,
        "status": status,
        **extra,
    }


CONSUMPTION_ROWS: list[dict[str, Any]] = [
    # u-1 in course-a/batch-1: two completed, one in progress with the player's details.
    _row(
        "u-1",
        "course-a",
        "batch-1",
        "A1",
        2,
        progress=100,
        viewcount=2,
        completedcount=1,
        last_access_time=t(1),
        last_completed_time=t(1, 11),
        last_updated_time=t(1, 11),
    ),
    _row(
        "u-1",
        "course-a",
        "batch-1",
        "A2",
        1,
        progress=40,
        progressdetails='{"position": 125, "note": "a \\"b\\" \\\\ c"}',
        last_access_time=t(2),
        last_updated_time=t(2),
    ),
    _row(
        "u-1",
        "course-a",
        "batch-1",
        "A3",
        2,
        progress=None,
        lastaccesstime="2024-03-03 09:00:00:000+0000",
        lastcompletedtime="2024-03-03 09:30:00:250+0000",
        datetime=t(3),
    ),
    # u-1 in course-b/batch-b: the required leaf done (legacy job: complete).
    _row("u-1", "course-b", "batch-b", "B1", 2, progress=100, last_completed_time=t(4)),
    # u-2 in course-a/batch-2: everything done.
    *(
        _row("u-2", "course-a", "batch-2", c, 2, progress=100, last_completed_time=t(5, 10 + i))
        for i, c in enumerate(["A1", "A2", "A3"])
    ),
    # u-4 in course-a/batch-1: every row complete but the enrolment stuck at 1 (the "sync").
    *(
        _row("u-4", "course-a", "batch-1", c, 2, progress=100, last_completed_time=t(6, 10 + i))
        for i, c in enumerate(["A1", "A2", "A3"])
    ),
    # u-5 in course-a/batch-1: only started (status null counts as 1), never aggregated.
    _row("u-5", "course-a", "batch-1", "A1", None, progress=10, last_access_time=t(7)),
    # u-3: a row outside any enrolment, and in a collection outside the catalogue.
    _row("u-3", "course-c", "batch-c", "C1", 2, last_completed_time=t(8)),
    # Malformed: a negative status.
    _row("u-6", "course-a", "batch-1", "A1", -1),
]
ATTEMPT_ROWS: list[dict[str, Any]] = [
    {
        "user_id": "u-2",
        "course_id": "course-a",
        "batch_id": "batch-2",
        "content_id": "A3",
        "attempt_id": "att-1",
        "created_on": t(5, 9),
        "last_attempted_on": t(5, 9),
        "updated_on": t(5, 9),
        "total_score": 2.0,
        "total_max_score": 3.0,
        "grand_total": "2.0/3.0",
        "question": [
            {
                "id": "q1",
                "assess_ts": t(5, 9),
                "max_score": 1.0,
                "score": 1.0,
                "type": "mcq",
                "title": "What's 1+1?",
                "resvalues": [{"1": '{"text":"2"}'}],
                "params": [{"1": '{"text":"2"}'}, {"2": '{"text":"3"}'}],
                "description": None,
                "duration": 12.5,
            },
            {
                "id": "q2",
                "assess_ts": t(5, 9),
                "max_score": 2.0,
                "score": 1.0,
                "type": "mcq",
                "title": None,
                "resvalues": [],
                "params": None,
                "description": "d",
                "duration": 3.0,
            },
        ],
    },
    {
        "user_id": "u-2",
        "course_id": "course-a",
        "batch_id": "batch-2",
        "content_id": "A3",
        "attempt_id": "att-2",
        "last_attempted_on": t(5, 12),
        "total_score": 1.33,
        "total_max_score": 3.0,
        "grand_total": "1.33/3.0",
        "question": [],
    },
    # Malformed: a question without an id.
    {
        "user_id": "u-1",
        "course_id": "course-a",
        "batch_id": "batch-1",
        "content_id": "A3",
        "attempt_id": "att-x",
        "last_attempted_on": t(3),
        "total_score": 1.0,
        "total_max_score": 1.0,
        "question": [{"id": None, "assess_ts": t(3), "max_score": 1.0, "score": 1.0}],
    },
]
AGG_ROWS: list[dict[str, Any]] = [
    # u-1's best score of A2: the attempts are gone; the int agg truncated it, aggregates wins.
    {
        "activity_type": "Course",
        "activity_id": "course-a",
        "user_id": "u-1",
        "context_id": "cb:batch-1",
        "agg": {"completedCount": 2, "score:A2": 0, "max_score:A2": 1},
        "aggregates": {"completedCount": 2.0, "score:A2": 0.5, "max_score:A2": 1.0},
        "agg_last_updated": {"score:A2": t(2)},
    },
    # u-2's A3: what its attempts already give (nothing to add); an old int-only row.
    {
        "activity_type": "Course",
        "activity_id": "course-a",
        "user_id": "u-2",
        "context_id": "cb:batch-2",
        "agg": {"completedCount": 3, "score:A3": 2, "max_score:A3": 3},
    },
    # A unit's count: recomputed, nothing to carry.
    {
        "activity_type": "Course",
        "activity_id": "u-1",
        "user_id": "u-2",
        "context_id": "cb:batch-2",
        "agg": {"completedCount": 2},
    },
]
ENROLMENT_ROWS: list[dict[str, Any]] = [
    {
        "userid": "u-1",
        "courseid": "course-a",
        "batchid": "batch-1",
        "active": True,
        "enrolled_date": t(1, 8),
        "status": 1,
        "progress": 2,
        "contentstatus": {"A1": 2, "A2": 1, "A3": 2},
        "datetime": t(3),
    },
    {
        "userid": "u-1",
        "courseid": "course-b",
        "batchid": "batch-b",
        "active": True,
        "enrolleddate": "2024-03-04 08:00:00:000+0000",
        "status": 2,
        "progress": 1,
        "completedon": t(4, 12),
        "contentstatus": {"B1": 2},
        "issued_certificates": [{"name": "Course B", "identifier": "cert-1", "token": "T1"}],
    },
    # u-2 in batch-1: its rows were archived; only the enrolment's contentstatus remains.
    {
        "userid": "u-2",
        "courseid": "course-a",
        "batchid": "batch-1",
        "active": True,
        "enrolled_date": t(1, 9),
        "status": 1,
        "progress": 1,
        "contentstatus": {"A1": 2},
        "datetime": t(2, 9),
    },
    {
        "userid": "u-2",
        "courseid": "course-a",
        "batchid": "batch-2",
        "active": True,
        "enrolled_date": t(5, 8),
        "status": 2,
        "progress": 3,
        "completedon": t(5, 13),
        "contentstatus": {"A1": 2, "A2": 2, "A3": 2},
    },
    {
        "userid": "u-3",
        "courseid": "course-a",
        "batchid": "batch-1",
        "active": False,
        "enrolled_date": t(1, 7),
        "status": 0,
        "progress": 0,
    },
    {
        "userid": "u-3",
        "courseid": "course-c",
        "batchid": "batch-c",
        "active": True,
        "enrolled_date": t(8, 7),
        "status": 2,
        "progress": 1,
        "completedon": t(8, 12),
        "contentstatus": {"C1": 2},
    },
    {
        "userid": "u-4",
        "courseid": "course-a",
        "batchid": "batch-1",
        "active": True,
        "enrolled_date": t(6, 8),
        "status": 1,
        "progress": 1,
        "contentstatus": {"A1": 2},
    },
    {
        "userid": "u-5",
        "courseid": "course-a",
        "batchid": "batch-1",
        "active": True,
        "enrolled_date": t(7, 8),
        "status": 0,
        "progress": 0,
    },
    # Malformed: a negative status.
    {
        "userid": "u-6",
        "courseid": "course-a",
        "batchid": "batch-1",
        "active": True,
        "enrolled_date": t(7, 8),
        "status": -2,
    },
]
TABLE_ROWS = {
    CONSUMPTION: CONSUMPTION_ROWS,
    ATTEMPTS: ATTEMPT_ROWS,
    ACTIVITY_AGG: AGG_ROWS,
    ENROLMENTS: ENROLMENT_ROWS,
}
USERS = ["u-1", "u-2", "u-3", "u-4", "u-5", "u-6"]
MALFORMED = {
    "user_content_consumption": 1,
    "assessment_aggregator": 1,
    "user_enrolments": 1,
}


def write_csv(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for table, rows in TABLE_ROWS.items():
        write_table(directory, table, rows)
    return directory


def load_cassandra(session: Any, keyspace: str) -> None:
    """The data set in a fresh legacy keyspace (through the driver, as Sunbird wrote it)."""

    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
    session.execute(
        f"CREATE KEYSPACE {keyspace} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    for statement in schema_statements(keyspace):
        session.execute(statement)
    session.cluster.refresh_schema_metadata()
    for table, rows in TABLE_ROWS.items():
        for row in rows:
            names = [k for k, v in row.items() if v is not None]
            values = [_driver_value(table.name, k, row[k]) for k in names]
            marks = ", ".join(["?"] * len(names))
            statement = session.prepare(
                f"INSERT INTO {keyspace}.{table.name} ({', '.join(names)}) VALUES ({marks})"
            )
            session.execute(statement, values)


def _driver_value(table: str, column: str, value: Any) -> Any:
    if table == "assessment_aggregator" and column == "question":
        from decimal import Decimal

        class Question:  # bound field by field by the driver
            def __init__(self, data: dict[str, Any]) -> None:
                for name in (
                    "id",
                    "assess_ts",
                    "max_score",
                    "score",
                    "type",
                    "title",
                    "resvalues",
                    "params",
                    "description",
                ):
                    setattr(self, name, data.get(name))
                duration = data.get("duration")
                self.duration = None if duration is None else Decimal(repr(duration))

        return [Question(q) for q in value]
    return value


def expected_summary(user: str, course: str, batch: str) -> dict[str, Any]:
    """What the legacy enrolment list showed for an enrolment (notes §3.5: status and
    percentage derived from the completed count), with the service's documented decisions:

    * the denominator is the required (non-optional) leaves, as the legacy aggregator counted,
      not leafNodesCount with the optional ones (the list's own inconsistency);
    * a started content makes the enrolment in progress (status 1) before anything completes;
    * completion is terminal: a legacy status 2 stays 2 with progress 100;
    * contentStatus lists every leaf of the collection (0 = not started), from the rows and the
      enrolment's contentstatus map (the higher status wins).
    """
    (enrolment,) = [
        e
        for e in ENROLMENT_ROWS
        if (e["userid"], e["courseid"], e["batchid"]) == (user, course, batch)
    ]
    statuses: dict[str, int] = {}
    for row in CONSUMPTION_ROWS:
        if (row["userid"], row["courseid"], row["batchid"]) == (user, course, batch):
            status = min(row["status"] or 1, 2)
            statuses[row["contentid"]] = max(statuses.get(row["contentid"], 0), status)
    for content, status in (enrolment.get("contentstatus") or {}).items():
        statuses[content] = max(statuses.get(content, 0), min(status, 2))
    leaves = LEAVES[course]
    content_status = {leaf: statuses.get(leaf, 0) for leaf in leaves}
    count = sum(1 for leaf in REQUIRED[course] if content_status[leaf] == 2)
    required = len(REQUIRED[course])
    # The legacy list's derivation, with the required leaves as the denominator.
    if count == 0:
        status, percent = 0, 0
    elif count < required:
        status, percent = 1, count * 100 // required
    else:
        status, percent = 2, 100
    if status == 0 and any(content_status.values()):
        status = 1
    if enrolment["status"] == 2:
        status, percent = 2, 100
    return {"contentStatus": content_status, "progress": percent, "status": status}
