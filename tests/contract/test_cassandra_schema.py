"""sync_cassandra creates the seed's tables with the types the design relies on."""

import pytest

from viewer import cql

pytestmark = pytest.mark.cassandra

EXPECTED = {
    ("user_content_consumption", "progressdetails"): "text",
    ("user_content_consumption", "last_completed_time"): "timestamp",
    ("assessment_aggregator", "questions"): "list<frozen<question>>",
    ("assessment_aggregator", "total_score"): "double",
    ("user_activity_agg", "content_status"): "frozen<map<text, int>>",
    ("user_activity_agg", "aggregates"): "map<text, double>",
    ("user_activity_agg", "agg"): "map<text, int>",
    ("user_enrolments", "issued_certificates"): "list<frozen<map<text, text>>>",
}

KEYS = {
    "user_content_consumption": ["userid", "collectionid", "contextid", "contentid"],
    "assessment_aggregator": ["user_id", "collection_id", "context_id", "content_id", "attempt_id"],
    "user_activity_agg": ["activity_type", "activity_id", "user_id", "context_id"],
    "user_enrolments": ["userid", "collectionid", "contextid"],
}


def test_cassandra_schema_has_the_designed_tables(cassandra_keyspace: str) -> None:
    rows = cql.session().execute(
        "SELECT table_name, column_name, type, kind, position FROM system_schema.columns "
        "WHERE keyspace_name = %s",
        (cassandra_keyspace,),
    )
    columns = {(r["table_name"], r["column_name"]): r for r in rows}
    for (table, column), cql_type in EXPECTED.items():
        assert columns[(table, column)]["type"] == cql_type, (table, column)
    for table, key in KEYS.items():
        key_columns = sorted(
            (r for (t, _), r in columns.items() if t == table and r["kind"] != "regular"),
            key=lambda r: (r["kind"] != "partition_key", r["position"]),
        )
        assert [r["column_name"] for r in key_columns] == key, table
    udt = (
        cql.session()
        .execute(
            "SELECT field_names FROM system_schema.types "
            "WHERE keyspace_name = %s AND type_name = %s",
            (cassandra_keyspace, "question"),
        )
        .one()
    )
    assert {"id", "score", "max_score", "resvalues", "params", "duration"} <= set(
        udt["field_names"]
    )
