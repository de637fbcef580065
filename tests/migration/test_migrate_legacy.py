"""manage.py migrate_legacy: from a legacy keyspace on the real Cassandra and from a CSV export
of the same data, into whichever store VIEWER_STORE selects; every summary compared with what
the legacy enrolment list would have shown; idempotent, resumable, dry-run, malformed rows."""

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from assessments.repositories import attempt_repository
from consumption.repositories import consumption_repository
from migration.legacy import TABLES
from migration.models import MigrationCheckpoint
from migration.runner import Migration, RunReport
from migration.sources import CassandraSource, CsvSource, Source
from summaries.services import summary_delete
from tests.conftest import Api

from . import legacy_data

Summaries = Callable[[], dict[str, list[dict[str, Any]]]]
SCOPES = sorted(
    {(e["userid"], e["courseid"], e["batchid"]) for e in legacy_data.ENROLMENT_ROWS}
    | {(r["userid"], r["courseid"], r["batchid"]) for r in legacy_data.CONSUMPTION_ROWS}
)


def migrate(source: Source, **options: Any) -> RunReport:
    options.setdefault("batch_size", 2)
    return Migration(source, **options).run()


def cassandra_source(keyspace: str) -> CassandraSource:
    from django.conf import settings

    return CassandraSource(keyspace=keyspace, hosts=settings.CASSANDRA_HOSTS, port=_port())


def _port() -> int:
    from django.conf import settings

    return int(settings.DATABASES["cassandra"]["OPTIONS"]["connection"].get("port", 9042))


def store_state(summaries: Summaries) -> dict[str, Any]:
    """Everything the migration writes, without the write times."""
    rows = {
        user: sorted(
            (
                r.key.collection_id,
                r.key.context_id,
                r.key.content_id,
                r.status,
                r.progress,
                json.dumps(r.progress_details, sort_keys=True),
                r.last_access_time,
                r.last_completed_time,
            )
            for r in consumption_repository().list_user(user_id=user)
        )
        for user in legacy_data.USERS
    }
    attempts = {
        scope: sorted(
            (
                a.key.content_id,
                a.attempt_id,
                a.assessment_ts,
                a.total_score,
                a.grand_total,
                len(a.questions),
            )
            for a in attempt_repository().list_scope(
                user_id=scope[0], collection_id=scope[1], context_id=scope[2]
            )
        )
        for scope in SCOPES
    }
    return {"summaries": summaries(), "rows": rows, "attempts": attempts}


def wipe() -> None:
    for user in legacy_data.USERS:
        summary_delete(user_id=user)
    MigrationCheckpoint.objects.all().delete()


def check_against_legacy_list(summaries: Summaries) -> None:
    listed = summaries()
    for enrolment in legacy_data.ENROLMENT_ROWS:
        user, course, batch = enrolment["userid"], enrolment["courseid"], enrolment["batchid"]
        found = [s for s in listed[user] if (s["collectionId"], s["contextId"]) == (course, batch)]
        if user == "u-6":  # its enrolment row is malformed: not migrated
            assert found == []
            continue
        (summary,) = found
        assert summary["active"] == enrolment["active"]
        if course not in legacy_data.LEAVES:  # not in the catalogue: migrated, not aggregated
            assert summary["collection"] is None
            assert (summary["status"], summary["progress"]) == (2, 100)
            assert summary["contentStatus"] == {}
            continue
        expected = legacy_data.expected_summary(user, course, batch)
        got = {k: summary[k] for k in expected}
        assert got == expected, (user, course, batch)


def check_details(summaries: Summaries) -> None:
    """Dates, certificates, best scores (int agg merged with double aggregates)."""
    listed = summaries()
    by_scope = {
        (s["userId"], s["collectionId"], s["contextId"]): s for u in listed.values() for s in u
    }
    b = by_scope[("u-1", "course-b", "batch-b")]
    assert b["enrolledDate"] == 1709539200000  # the legacy text date 2024-03-04 08:00
    assert b["completedOn"] == int(legacy_data.t(4, 12).timestamp() * 1000)
    assert b["issuedCertificates"] == [{"name": "Course B", "identifier": "cert-1", "token": "T1"}]
    # The archived attempts' best score comes from aggregates (0.5), not the int agg (0).
    a = by_scope[("u-1", "course-a", "batch-1")]
    assert a["assessmentStatus"] == {"A2": {"score": 0.5, "max_score": 1.0}}
    # Two attempts: the best (2.0/3.0), not the latest (1.33/3.0).
    assert by_scope[("u-2", "course-a", "batch-2")]["assessmentStatus"] == {
        "A3": {"score": 2.0, "max_score": 3.0}
    }
    # The stuck enrolment is completed by the recompute, at its last completion.
    stuck = by_scope[("u-4", "course-a", "batch-1")]
    assert (stuck["status"], stuck["progress"]) == (2, 100)
    assert stuck["completedOn"] == int(legacy_data.t(6, 12).timestamp() * 1000)
    # A completed legacy enrolment keeps its completedOn.
    done = by_scope[("u-2", "course-a", "batch-2")]
    assert done["completedOn"] == int(legacy_data.t(5, 13).timestamp() * 1000)


def check_report(report: RunReport) -> None:
    for table in TABLES:
        r = report.tables[table.name]
        assert r.read == len(legacy_data.TABLE_ROWS[table]), table.name
        assert sum(r.rejected.values()) == legacy_data.MALFORMED.get(table.name, 0), table.name
    enrolments = report.tables["user_enrolments"]
    assert dict(enrolments.not_aggregated) == {"course-c": 1}
    # A batch cut short on Cassandra left its writes: resumed, they count as unchanged.
    assert enrolments.written + enrolments.unchanged == len(legacy_data.ENROLMENT_ROWS) - 1
    rejected = {e["reason"] for r in report.tables.values() for e in r.examples}
    assert rejected == {
        "status is negative (-1)",
        "a question has no id (question 1)",
        "status is negative (-2)",
    }


def test_migrate_legacy_csv_summaries_match_the_legacy_list(
    catalogue: None, csv_dir: Path, summaries: Summaries, api: Api
) -> None:
    report = migrate(CsvSource(csv_dir))
    check_report(report)
    assert report.tables["user_enrolments"].written == len(legacy_data.ENROLMENT_ROWS) - 1
    check_against_legacy_list(summaries)
    check_details(summaries)
    # The player's details and the legacy text times came along.
    read = api.ok(
        "POST",
        "/v1/view/read",
        {
            "userId": "u-1",
            "collectionId": "course-a",
            "contextId": "batch-1",
            "contentId": ["A2", "A3"],
        },
    )["contents"]
    assert read[0]["progressDetails"] == {"position": 125, "note": 'a "b" \\ c'}
    assert read[0]["progress"] == 40
    assert (
        read[1]["lastCompletedTime"]
        == int(legacy_data.t(3, 9).timestamp() * 1000) + 30 * 60 * 1000 + 250
    )


@pytest.mark.cassandra
def test_migrate_legacy_cassandra_source_ends_like_the_csv_export(
    catalogue: None, csv_dir: Path, legacy_keyspace: str, summaries: Summaries
) -> None:
    source = cassandra_source(legacy_keyspace)
    try:
        report = migrate(source)
    finally:
        source.close()
    check_report(report)
    check_against_legacy_list(summaries)
    check_details(summaries)
    from_keyspace = store_state(summaries)
    wipe()
    migrate(CsvSource(csv_dir))
    assert store_state(summaries) == from_keyspace


def test_migrate_legacy_second_run_changes_nothing(
    catalogue: None, csv_dir: Path, summaries: Summaries, api: Api
) -> None:
    migrate(CsvSource(csv_dir))
    before = store_state(summaries)
    stamps = {
        u: [s for s in api.ok("GET", f"/v1/summary/list/{u}")["summary"]] for u in legacy_data.USERS
    }
    # Resumed from the checkpoints: every table is done already.
    again = migrate(CsvSource(csv_dir))
    assert again.already_done == [t.name for t in TABLES]
    # Started over (--restart): everything read again, nothing written or recomputed.
    fresh = migrate(CsvSource(csv_dir), restart=True, batch_size=500)
    for name, r in fresh.tables.items():
        assert r.written == 0, name
        assert r.recomputed == 0, name
    assert store_state(summaries) == before
    assert {
        u: api.ok("GET", f"/v1/summary/list/{u}")["summary"] for u in legacy_data.USERS
    } == stamps


@pytest.mark.parametrize("table_index", range(len(TABLES)))
def test_migrate_legacy_killed_and_resumed_ends_identical(
    catalogue: None, csv_dir: Path, summaries: Summaries, table_index: int
) -> None:
    migrate(CsvSource(csv_dir))
    uninterrupted = store_state(summaries)
    wipe()

    class Killed(Exception):
        pass

    def kill(table: Any, number: int) -> None:
        if table is TABLES[table_index] and number == 2:
            raise Killed  # after the batch's writes, before its checkpoint

    with pytest.raises(Killed):
        migrate(CsvSource(csv_dir), on_batch=kill)
    resumed = migrate(CsvSource(csv_dir))
    assert TABLES[table_index].name in resumed.resumed
    assert store_state(summaries) == uninterrupted
    check_report(resumed)


@pytest.mark.cassandra
def test_migrate_legacy_killed_cassandra_scan_resumes_by_token(
    catalogue: None, legacy_keyspace: str, summaries: Summaries, csv_dir: Path
) -> None:
    migrate(CsvSource(csv_dir))
    uninterrupted = store_state(summaries)
    wipe()
    calls = []

    def kill(table: Any, number: int) -> None:
        calls.append(table.name)
        if table.name == "user_enrolments" and number == 2:
            raise RuntimeError("killed")

    source = cassandra_source(legacy_keyspace)
    try:
        with pytest.raises(RuntimeError):
            migrate(source, on_batch=kill)
        checkpoint = MigrationCheckpoint.objects.get(source=source.name, table="user_enrolments")
        assert checkpoint.position  # a token
        resumed = migrate(source)
    finally:
        source.close()
    assert resumed.already_done == [t.name for t in TABLES[:3]]
    assert store_state(summaries) == uninterrupted


def test_migrate_legacy_dry_run_writes_nothing(
    catalogue: None, csv_dir: Path, summaries: Summaries
) -> None:
    empty = store_state(summaries)
    report = migrate(CsvSource(csv_dir), dry_run=True)
    assert store_state(summaries) == empty
    assert not MigrationCheckpoint.objects.exists()
    assert report.tables["user_enrolments"].written == len(legacy_data.ENROLMENT_ROWS) - 1
    assert sum(report.tables["user_content_consumption"].rejected.values()) == 1


def test_migrate_legacy_reports_malformed_csv_rows_and_goes_on(
    catalogue: None, csv_dir: Path, summaries: Summaries, tmp_path: Path, api: Api
) -> None:
    path = csv_dir / "user_enrolments.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")

    def line(**values: str) -> str:
        return ",".join(values.get(column, "") for column in header)

    ids = {"courseid": "course-a", "batchid": "batch-1", "status": "1"}
    lines.insert(2, line(userid="u-7", active="True", contentstatus="{'A1': 2", **ids))
    lines.insert(3, "u-8,course-a")  # too few fields
    lines.insert(4, line(userid="u-9", active="maybe", **ids))
    path.write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "rejects.jsonl"
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "migrate_legacy",
        csv_dir=str(csv_dir),
        batch_size=3,
        rejects=str(rejects),
        no_progress=True,
        stdout=out,
        stderr=err,
    )
    rejected = [json.loads(line) for line in rejects.read_text().splitlines()]
    where = {r["where"]: r["reason"] for r in rejected}
    assert where["user_enrolments.csv:3"].startswith("column contentstatus: expected")
    assert where["user_enrolments.csv:4"] == "wrong number of fields (2, the header has 19)"
    assert where["user_enrolments.csv:5"] == "column active: not a boolean: 'maybe'"
    assert "rejected user_enrolments.csv:4: wrong number of fields" in err.getvalue()
    report = out.getvalue()
    assert "user_enrolments: read 12, written 8" in report
    assert "rejected 1: wrong number of fields" in report
    assert "course-c (1)" in report
    # The good rows around them were all migrated.
    check_against_legacy_list(summaries)
    for user in ("u-7", "u-8", "u-9"):  # nothing of a rejected row was written
        assert api.ok("GET", f"/v1/summary/list/{user}") == {"summary": []}


def test_migrate_legacy_refuses_a_checkpoint_of_other_data(csv_dir: Path) -> None:
    def kill(table: Any, number: int) -> None:
        if number == 2:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        migrate(CsvSource(csv_dir), on_batch=kill)
    (csv_dir / "user_content_consumption.csv").write_text("userid,courseid,batchid,contentid\n")
    from migration.runner import MigrationError

    with pytest.raises(MigrationError, match="--restart"):
        migrate(CsvSource(csv_dir))
    report = migrate(CsvSource(csv_dir), restart=True)
    assert report.tables["user_content_consumption"].read == 0


def test_migrate_legacy_command_prints_the_report(catalogue: None, csv_dir: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("migrate_legacy", csv_dir=str(csv_dir), json=True, stdout=out, stderr=err)
    report = json.loads(out.getvalue())
    assert report["tables"]["user_enrolments"]["written"] == len(legacy_data.ENROLMENT_ROWS) - 1
    assert "user_enrolments" in err.getvalue()  # the progress bar
    assert "rows/s" in err.getvalue()
