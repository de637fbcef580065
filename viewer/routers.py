"""Keeps Django's migrations away from the Cassandra alias (its schema is ``sync_cassandra``'s)."""

from typing import Any


class CassandraRouter:
    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if db == "cassandra":
            return False
        return None
