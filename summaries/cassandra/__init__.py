"""The Cassandra tables of the summaries app, as an app without migrations."""
