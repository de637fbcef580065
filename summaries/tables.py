"""cqlengine tables of the summaries app (VIEWER_STORE=cassandra): user_activity_agg (the
aggregation job's output, ``content_status`` a ``frozen<map<text,int>>`` written whole) and
user_enrolments. Synced by ``manage.py sync_cassandra`` through the ``summaries.cassandra`` app."""

from typing import Any

from cassandra.cqlengine import columns
from django_cassandra_engine.models import DjangoCassandraModel


class FrozenTextIntMap(columns.Column):
    """``frozen<map<text,int>>``: always written as one whole value, never per key.

    A subclass of Column, not of Map: cqlengine would otherwise emit per-key updates and
    deletes, which Cassandra refuses on a frozen collection.
    """

    db_type = "frozen<map<text, int>>"

    def validate(self, value: Any) -> Any:
        value = super().validate(value)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise columns.ValidationError(f"{self.column_name} must be a dict")
        return {str(k): int(v) for k, v in value.items()}

    def to_python(self, value: Any) -> Any:
        return None if value is None else dict(value)

    def to_database(self, value: Any) -> Any:
        return None if value is None else {str(k): int(v) for k, v in value.items()}


class ActivityAggRow(DjangoCassandraModel):
    __table_name__ = "user_activity_agg"

    activity_type = columns.Text(partition_key=True)
    activity_id = columns.Text(partition_key=True)
    user_id = columns.Text(partition_key=True)
    context_id = columns.Text(primary_key=True)
    agg = columns.Map(columns.Text, columns.Integer)
    aggregates = columns.Map(columns.Text, columns.Double)
    content_status = FrozenTextIntMap()
    agg_last_updated = columns.Map(columns.Text, columns.DateTime)

    class Meta:
        app_label = "summaries_cassandra"
        get_pk_field = "activity_type"


class EnrolmentRow(DjangoCassandraModel):
    __table_name__ = "user_enrolments"

    userid = columns.Text(partition_key=True)
    collectionid = columns.Text(primary_key=True)
    contextid = columns.Text(primary_key=True)
    active = columns.Boolean()
    addedby = columns.Text()
    enrolled_date = columns.DateTime()
    status = columns.Integer()
    progress = columns.Integer()
    completedon = columns.DateTime()
    issued_certificates = columns.List(columns.Map(columns.Text, columns.Text))
    last_updated_time = columns.DateTime()

    class Meta:
        app_label = "summaries_cassandra"
        get_pk_field = "userid"
