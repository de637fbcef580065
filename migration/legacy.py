"""Sunbird's ``sunbird_courses`` tables that the migration reads (notes/sunbird-reference.md §6):
their columns and CQL types (to parse CSV exports), their keys (to resume a Cassandra scan by
token), and the order they are migrated in.

Rows and attempts go first, then the legacy best scores (they need the attempts in place), then
the enrolments, whose recompute needs everything else.
"""

from dataclasses import dataclass
from pathlib import Path

from .cqlvalues import CqlType, parse_type, udt

SCHEMA_CQL = Path(__file__).with_name("legacy_schema.cql")

QUESTION = udt(
    "question",
    {
        "id": "text",
        "assess_ts": "timestamp",
        "max_score": "double",
        "score": "double",
        "type": "text",
        "title": "text",
        "resvalues": "list<frozen<map<text,text>>>",
        "params": "list<frozen<map<text,text>>>",
        "description": "text",
        "duration": "decimal",
    },
)
UDTS = {"question": QUESTION}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (one per table)
class LegacyTable:
    name: str
    partition_key: tuple[str, ...]
    clustering: tuple[str, ...]
    columns: dict[str, str]  # name -> CQL type, as in the legacy schema

    @property
    def key(self) -> tuple[str, ...]:
        """The primary key: the columns the migration cannot do without."""
        return (*self.partition_key, *self.clustering)

    def types(self) -> dict[str, CqlType]:
        return {name: parse_type(text, UDTS) for name, text in self.columns.items()}

    def cqlsh_order(self) -> list[str]:
        """The column order of a headerless ``COPY TO`` of the documented schema: the primary
        key, then the other columns alphabetically."""
        rest = sorted(c for c in self.columns if c not in self.key)
        return [*self.key, *rest]


CONSUMPTION = LegacyTable(
    name="user_content_consumption",
    partition_key=("userid",),
    clustering=("courseid", "batchid", "contentid"),
    columns={
        "userid": "text",
        "courseid": "text",
        "batchid": "text",
        "contentid": "text",
        "completedcount": "int",
        "viewcount": "int",
        "progress": "int",
        "status": "int",
        "datetime": "timestamp",
        "last_access_time": "timestamp",
        "last_completed_time": "timestamp",
        "last_updated_time": "timestamp",
        "lastaccesstime": "text",
        "lastcompletedtime": "text",
        "lastupdatedtime": "text",
        "progressdetails": "text",
    },
)
ATTEMPTS = LegacyTable(
    name="assessment_aggregator",
    partition_key=("user_id", "course_id"),
    clustering=("batch_id", "content_id", "attempt_id"),
    columns={
        "user_id": "text",
        "course_id": "text",
        "batch_id": "text",
        "content_id": "text",
        "attempt_id": "text",
        "created_on": "timestamp",
        "grand_total": "text",
        "last_attempted_on": "timestamp",
        "question": "list<frozen<question>>",
        "total_max_score": "double",
        "total_score": "double",
        "updated_on": "timestamp",
    },
)
ACTIVITY_AGG = LegacyTable(
    name="user_activity_agg",
    partition_key=("activity_type", "activity_id", "user_id"),
    clustering=("context_id",),
    columns={
        "activity_type": "text",
        "activity_id": "text",
        "user_id": "text",
        "context_id": "text",
        "agg": "map<text,int>",
        "aggregates": "map<text,double>",
        "agg_last_updated": "map<text,timestamp>",
        "agg_details": "list<text>",
        "content_status": "frozen<map<text,int>>",
    },
)
ENROLMENTS = LegacyTable(
    name="user_enrolments",
    partition_key=("userid",),
    clustering=("courseid", "batchid"),
    columns={
        "userid": "text",
        "courseid": "text",
        "batchid": "text",
        "active": "boolean",
        "addedby": "text",
        "certificates": "list<frozen<map<text,text>>>",
        "certstatus": "int",
        "completedon": "timestamp",
        "completionpercentage": "int",
        "contentstatus": "map<text,int>",
        "datetime": "timestamp",
        "enrolled_date": "timestamp",
        "enrolleddate": "text",
        "issued_certificates": "list<frozen<map<text,text>>>",
        "lastcontentaccesstime": "timestamp",
        "lastreadcontentid": "text",
        "lastreadcontentstatus": "int",
        "progress": "int",
        "status": "int",
    },
)

# In migration order.
TABLES: tuple[LegacyTable, ...] = (CONSUMPTION, ATTEMPTS, ACTIVITY_AGG, ENROLMENTS)
BY_NAME = {t.name: t for t in TABLES}


def schema_statements(keyspace: str) -> list[str]:
    """The legacy schema's CQL statements for ``keyspace`` (tests and benchmarks)."""
    text = SCHEMA_CQL.read_text().replace("{ks}", keyspace)
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
