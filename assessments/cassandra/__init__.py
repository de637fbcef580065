"""The Cassandra tables of the assessments app, as an app without migrations."""
