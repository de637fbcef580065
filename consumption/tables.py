"""cqlengine table of user_content_consumption (VIEWER_STORE=cassandra).

Synced by ``manage.py sync_cassandra`` through the ``consumption.cassandra`` app, which imports
it (an app of its own, without migrations, so ``makemigrations`` never sees it). Hot paths do not
go through cqlengine: the repository uses prepared statements on the same table.
"""

from cassandra.cqlengine import columns
from django_cassandra_engine.models import DjangoCassandraModel


class ConsumptionRow(DjangoCassandraModel):
    __table_name__ = "user_content_consumption"

    userid = columns.Text(partition_key=True)
    collectionid = columns.Text(primary_key=True)
    contextid = columns.Text(primary_key=True)
    contentid = columns.Text(primary_key=True)
    status = columns.Integer()
    progress = columns.Integer()
    progressdetails = columns.Text()  # JSON
    timespent = columns.Double()
    last_access_time = columns.DateTime()
    last_completed_time = columns.DateTime()
    last_updated_time = columns.DateTime()
    provenance = columns.Text()  # JSON: {action, from, rule, at}

    class Meta:
        # The app without migrations (else makemigrations would propose one for this table).
        app_label = "consumption_cassandra"
        # dce's .get() assigns pk from this field: it must be the first partition key.
        get_pk_field = "userid"
