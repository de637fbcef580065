"""Re-exports the cqlengine tables so django-cassandra-engine discovers and syncs them."""

from consumption.tables import ConsumptionRow

__all__ = ["ConsumptionRow"]
