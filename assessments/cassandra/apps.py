from django.apps import AppConfig


class AssessmentsCassandraConfig(AppConfig):
    name = "assessments.cassandra"
    label = "assessments_cassandra"
    verbose_name = "Assessments (Cassandra tables)"
