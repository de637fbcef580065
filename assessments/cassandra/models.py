"""Re-exports the cqlengine tables so django-cassandra-engine discovers and syncs them."""

from assessments.tables import AttemptRow

__all__ = ["AttemptRow"]
