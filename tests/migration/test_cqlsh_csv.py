"""The CSV reader against exports written by real cqlsh (tests/migration/data/), and the CQL
literal parser's edge cases. No Cassandra needed."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from migration.cqlvalues import LiteralError, parse_field, parse_timestamp, parse_type
from migration.csvexport import write_table
from migration.legacy import ACTIVITY_AGG, ATTEMPTS, CONSUMPTION, ENROLMENTS, UDTS, LegacyTable
from migration.sources import CsvSource

# No store of the service: the SQL pass runs it once, the Cassandra pass leaves it out.
pytestmark = pytest.mark.store_independent

DATA = Path(__file__).with_name("data")


def at(*args: int) -> datetime:
    return datetime(*args).replace(tzinfo=UTC)  # type: ignore[arg-type]


def rows(directory: Path, table: LegacyTable) -> dict[str, dict[str, Any]]:
    source = CsvSource(directory)
    out = {}
    for batch in source.batches(table, start=None, size=100):
        for row in batch.rows:
            assert row.error is None, row
            out[row.where] = row.values
    return out


def test_cqlsh_export_text_with_quotes_backslashes_and_control_characters() -> None:
    got = rows(DATA / "cqlsh", CONSUMPTION)
    first = got["user_content_consumption.csv:2"]
    assert first["progressdetails"] == (
        '{"current": ["1", "2"], "note": "a \\"quoted\\" \\\\ back, comma\\nnewline\'s é"}'
    )
    assert first["last_access_time"] == at(2021, 6, 23, 5, 37, 40, 575000)
    assert first["lastaccesstime"] == "2021-06-23 05:37:40:575+0000"
    assert (first["status"], first["progress"], first["viewcount"]) == (2, 100, 3)
    third = got["user_content_consumption.csv:4"]
    assert third["userid"] == 'u,2 "q"'
    assert third["progressdetails"] == ("tab\there\nline2 back\\slash 'single' \x01 \x7f \xa0 ü")
    empty = got["user_content_consumption.csv:3"]
    assert empty["status"] is None and empty["progressdetails"] is None


def test_cqlsh_export_maps_lists_and_booleans() -> None:
    got = rows(DATA / "cqlsh", ENROLMENTS)
    enrolment = got["user_enrolments.csv:2"]
    assert enrolment["active"] is True
    assert enrolment["contentstatus"] == {"do_1": 2, "do_'2": 1, "do,3": 0}
    assert enrolment["issued_certificates"] == [
        {"id": "cert-1", "name": "Cert 'A'", "url": "http://x/y?a=1,b=2"},
        {"name": 'back\\slash "dq"'},
    ]
    assert enrolment["completedon"] == at(2021, 6, 24, 10, 0, 0, 1000)
    assert got["user_enrolments.csv:3"]["active"] is False


def test_cqlsh_export_udts_with_nulls() -> None:
    got = rows(DATA / "cqlsh", ATTEMPTS)
    attempt = got["assessment_aggregator.csv:2"]
    q1, q2 = attempt["question"]
    assert q1 == {
        "id": "q1",
        "assess_ts": at(2021, 6, 23, 5, 5),
        "max_score": 1.0,
        "score": 1.0,
        "type": "mcq",
        "title": "What's 1+1?",
        "resvalues": [{"1": '{"text":"2\\n"}'}],
        "params": [{"1": '{"text":"2"}'}, {"2": '{"text":"3"}'}],
        "description": None,
        "duration": 12.5,
    }
    assert q2["title"] is None and q2["params"] is None and q2["resvalues"] == []
    assert q2["description"] == 'd, "x"' and q2["assess_ts"] == at(2021, 6, 23, 5, 6, 0, 500000)
    assert (attempt["total_score"], attempt["total_max_score"]) == (1.33, 2.0)
    bare = got["assessment_aggregator.csv:3"]
    assert bare["question"] is None and bare["last_attempted_on"] is None
    assert bare["total_max_score"] == pytest.approx(3.14159265359)  # cqlsh's 12 digits


def test_cqlsh_export_doubles_in_maps_default_and_full_precision() -> None:
    default = rows(DATA / "cqlsh", ACTIVITY_AGG)["user_activity_agg.csv:2"]
    precise = rows(DATA / "cqlsh-precise", ACTIVITY_AGG)["user_activity_agg.csv:2"]
    assert default["agg"] == {"completedCount": 1, "max_score:do_q": 2, "score:do_q": 1}
    assert default["aggregates"]["score:do_q"] == 1.33
    assert default["aggregates"]["score:do_x"] == 1.2346e08  # cqlsh rounds to 5 digits
    assert precise["aggregates"]["score:do_x"] == 123456789.123456  # FLOATPRECISION = 17
    assert default["agg_last_updated"] == {"score:do_q": at(2021, 6, 23, 5, 10)}
    assert default["agg_details"] == ['{"attempt_id":"att-1"}']
    assert default["content_status"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-06-23 05:37:40.575+0000", at(2021, 6, 23, 5, 37, 40, 575000)),
        ("2021-06-23 05:37:40.575123+0000", at(2021, 6, 23, 5, 37, 40, 575000)),
        ("2021-06-23 05:37:40+0000", at(2021, 6, 23, 5, 37, 40)),
        ("2021-06-23T05:37:40Z", at(2021, 6, 23, 5, 37, 40)),
        ("2021-06-23 11:07:40+05:30", at(2021, 6, 23, 5, 37, 40)),
        ("2021-06-23 05:37:40:575+0000", at(2021, 6, 23, 5, 37, 40, 575000)),  # legacy text
        ("2021-06-23 05:37", at(2021, 6, 23, 5, 37)),
        ("2021-06-23", at(2021, 6, 23)),
        ("1624426660575", at(2021, 6, 23, 5, 37, 40, 575000)),
    ],
)
def test_parse_timestamp_formats(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("text", "cql_type"),
    [
        ("{'a': 1", "map<text,int>"),
        ("{'a' 1}", "map<text,int>"),
        ("{'a': 'x'}", "map<text,int>"),
        ("[{'a': 'b'}", "list<frozen<map<text,text>>>"),
        ("{'a': 1} trailing", "map<text,int>"),
        ("[{id: 'q', nope: 1}]", "list<frozen<question>>"),
        ("[{id: 'q', score: abc}]", "list<frozen<question>>"),
        ("2021-13-45 10:00:00", "timestamp"),
        ("maybe", "boolean"),
        ("1.5", "int"),
    ],
)
def test_parse_field_refuses_what_does_not_fit_the_type(text: str, cql_type: str) -> None:
    with pytest.raises(LiteralError):
        parse_field(text, parse_type(cql_type, UDTS))


def test_csv_writer_round_trips_through_the_reader(tmp_path: Path) -> None:
    row = {
        "userid": "u\\1,\"x\"\n'y'",
        "courseid": "c",
        "batchid": "b",
        "active": True,
        "contentstatus": {"a'b": 2, "c,d": 1},
        "issued_certificates": [{"k": "v\\'\"\t"}],
        "enrolled_date": at(2024, 1, 2, 3, 4, 5, 678000),
        "progress": 3,
        "status": None,
    }
    write_table(tmp_path, ENROLMENTS, [row])
    (got,) = rows(tmp_path, ENROLMENTS).values()
    assert {k: got[k] for k in row} == row


def test_csv_resumes_at_a_byte_offset_across_multiline_records(tmp_path: Path) -> None:
    table = CONSUMPTION
    data = [
        {
            "userid": f"u{i}",
            "courseid": "c",
            "batchid": "b",
            "contentid": f"x{i}",
            "progressdetails": "line1\nline2" if i % 2 else None,
            "status": 1,
        }
        for i in range(7)
    ]
    write_table(tmp_path, table, data)
    source = CsvSource(tmp_path)
    batches = list(source.batches(table, start=None, size=3))
    assert [len(b.rows) for b in batches] == [3, 3, 1]
    resumed = list(source.batches(table, start=batches[0].position, size=3))
    assert [r.values["userid"] for b in resumed for r in b.rows] == [f"u{i}" for i in range(3, 7)]
    assert [r.where for b in resumed for r in b.rows] == [
        r.where for b in batches[1:] for r in b.rows
    ]
