"""cqlengine tables of the assessments app (VIEWER_STORE=cassandra): assessment_aggregator, one
row per attempt, with the answers as a list of the ``question`` user-defined type (the seed's
schema). Synced by ``manage.py sync_cassandra`` through the ``assessments.cassandra`` app."""

from cassandra.cqlengine import columns
from cassandra.cqlengine.usertype import UserType
from django_cassandra_engine.models import DjangoCassandraModel


class QuestionType(UserType):
    __type_name__ = "question"

    id = columns.Text()
    assess_ts = columns.DateTime()
    max_score = columns.Double()
    score = columns.Double()
    type = columns.Text()
    title = columns.Text()
    resvalues = columns.List(columns.Map(columns.Text, columns.Text))
    params = columns.List(columns.Map(columns.Text, columns.Text))
    description = columns.Text()
    duration = columns.Decimal()


class AttemptRow(DjangoCassandraModel):
    __table_name__ = "assessment_aggregator"

    user_id = columns.Text(partition_key=True)
    collection_id = columns.Text(partition_key=True)
    context_id = columns.Text(primary_key=True)
    content_id = columns.Text(primary_key=True)
    attempt_id = columns.Text(primary_key=True)
    created_on = columns.DateTime()
    grand_total = columns.Text()
    last_attempted_on = columns.DateTime()
    questions = columns.List(columns.UserDefinedType(QuestionType))
    total_max_score = columns.Double()
    total_score = columns.Double()
    updated_on = columns.DateTime()

    class Meta:
        app_label = "assessments_cassandra"
        get_pk_field = "user_id"


class AttemptArchiveRow(DjangoCassandraModel):
    """assessment_archive: what ``archive_consumption`` keeps of the attempts it removed from
    one (user, collection, context); ``best`` is JSON (see ``repositories/archived.py``)."""

    __table_name__ = "assessment_archive"

    user_id = columns.Text(partition_key=True)
    collection_id = columns.Text(partition_key=True)
    context_id = columns.Text(primary_key=True)
    best = columns.Text()
    archived_on = columns.DateTime()

    class Meta:
        app_label = "assessments_cassandra"
        get_pk_field = "user_id"
