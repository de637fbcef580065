"""The consumption repository: the only code that touches user_content_consumption.

Every read takes the partition key (the user id). Writes are conditional and idempotent:
``start`` inserts only when the row is absent; ``update`` and ``end`` change only a row that
exists and is not completed, and say which case happened.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from viewer import storage
from viewer.identifiers import ConsumptionKey, Scope

from ..domain import Consumption, WriteOutcome


class ConsumptionRepository(Protocol):
    def start(self, *, key: ConsumptionKey, at: datetime) -> None:
        """Insert the row (status 1, progress 0, last access ``at``) unless it exists."""

    def update(
        self,
        *,
        key: ConsumptionKey,
        at: datetime,
        progress_details: dict[str, Any],
        progress: int | None,
        time_spent: float | None,
    ) -> WriteOutcome:
        """Status 1, progress and time spent raised, details replaced, last access raised."""

    def end(
        self, *, key: ConsumptionKey, at: datetime, progress_details: dict[str, Any] | None
    ) -> WriteOutcome:
        """Status 2, progress 100, completion time ``at`` (set once), details if given."""

    def get_many(self, *, user_id: str, keys: Sequence[ConsumptionKey]) -> list[Consumption]:
        """The rows among ``keys`` that exist (all keys belong to ``user_id``), archived rows
        included (``repositories/archived.py``: merged with a live row of the same key)."""

    def list_scope(self, *, scope: Scope) -> list[Consumption]:
        """Every row of one user in one (collection, context), ordered by content id, archived
        rows included (merged with a live row of the same key)."""

    def list_user(self, *, user_id: str) -> list[Consumption]:
        """Every row of one user (one partition) as stored: live rows, and each archived
        scope's archive row (content id ``""``), not unpacked."""

    def carry(
        self, *, source: Consumption, target: ConsumptionKey, provenance: dict[str, Any]
    ) -> bool:
        """Write ``target`` with the source's state and ``provenance`` when it is absent or at a
        lower status (never lowers a row); True when written."""

    def import_rows(self, *, rows: Sequence[Consumption]) -> int:
        """Rows from another system (a migration): each inserted when absent, or raised when
        the stored row is lower (a lower status, or less progress at the same status below 2);
        never lowered, so a second import changes nothing. Returns how many were written."""

    def move(
        self,
        *,
        moves: Sequence[tuple[Consumption, ConsumptionKey, dict[str, Any]]],
        current: Mapping[ConsumptionKey, Consumption],
    ) -> None:
        """Atomically, for each (source, target, provenance): write ``target`` as ``carry``
        does and delete ``source``. ``current`` is the user's rows as last read (a backend may
        use it to detect concurrent changes and retry).

        Raises: StoreUnavailableError when it cannot complete; then nothing changed.
        """

    def archive_scope(
        self, *, scope: Scope, rows: Sequence[Consumption], at: datetime
    ) -> list[ConsumptionKey]:
        """Fold live ``rows`` of ``scope`` (as read, and exported) into the scope's archive row
        and delete them, each only if it did not change since it was read (its last update
        time and status): a changed row stays live. The archive row is written before any row
        is deleted, so a crash in between leaves both, which reads merge. Returns the keys
        deleted."""

    def delete_many(self, *, user_id: str, keys: Sequence[ConsumptionKey]) -> None:
        """Delete rows of one user (a summary delete)."""

    def ping(self) -> None:
        """Raise if the store cannot be reached."""


def consumption_repository() -> ConsumptionRepository:
    return storage.component("consumption")
