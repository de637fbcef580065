from django.apps import AppConfig


class ConsumptionCassandraConfig(AppConfig):
    name = "consumption.cassandra"
    label = "consumption_cassandra"
    verbose_name = "Content consumption (Cassandra tables)"
