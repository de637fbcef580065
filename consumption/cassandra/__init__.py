"""The Cassandra tables of the consumption app, as an app without migrations."""
