from django.apps import AppConfig


class SummariesCassandraConfig(AppConfig):
    name = "summaries.cassandra"
    label = "summaries_cassandra"
    verbose_name = "Summaries (Cassandra tables)"
