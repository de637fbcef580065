"""Re-exports the cqlengine tables so django-cassandra-engine discovers and syncs them."""

from summaries.tables import ActivityAggRow, EnrolmentRow

__all__ = ["ActivityAggRow", "EnrolmentRow"]
