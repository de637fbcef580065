"""Re-exports the cqlengine tables so django-cassandra-engine discovers and syncs them."""

from assessments.tables import AttemptArchiveRow, AttemptRow

__all__ = ["AttemptArchiveRow", "AttemptRow"]
