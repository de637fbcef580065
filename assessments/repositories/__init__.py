"""The attempt repository: the only code that touches assessment_aggregator.

Every read takes the partition key (the user id, with the collection id on Cassandra). The write
is conditional and idempotent: ``upsert`` inserts a new attempt, or replaces a stored one only
when the submission is strictly newer (its assessmentTs), keeping the creation time; an older or
equal replay changes nothing.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from viewer import storage

from ..domain import Attempt
from .archived import ArchivedScores


class AttemptRepository(Protocol):
    def upsert(self, *, attempt: Attempt) -> bool:
        """Insert ``attempt``, or replace the stored one when ``attempt.assessment_ts`` is
        later than its own (``created_on`` kept). True when written."""

    def list_scope(
        self, *, user_id: str, collection_id: str, context_id: str, content_id: str | None = None
    ) -> list[Attempt]:
        """The attempts of one user in one (collection, context), of one content when given,
        ordered by content id, then attempt id."""

    def delete_scope(
        self, *, user_id: str, collection_id: str, context_id: str, content_id: str | None = None
    ) -> None:
        """Delete the attempts of one user in one (collection, context) (of one content when
        given); without a content, the scope's archived scores too."""

    def archived_scores(
        self, *, user_id: str, scopes: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], ArchivedScores]:
        """The archived scores (``archived.py``) of each (collection, context) of ``scopes``
        that has some, read at once."""

    def archive_scope(
        self,
        *,
        user_id: str,
        collection_id: str,
        context_id: str,
        attempts: Sequence[Attempt],
        at: datetime,
    ) -> int:
        """Fold ``attempts`` (as read, and exported) into the scope's archived scores and delete
        them, each only if it was not replaced since it was read (its assessment time): a
        replaced attempt stays. The archived scores are written before any attempt is deleted,
        so a crash in between leaves both, which reads merge. Returns how many were deleted."""

    def ping(self) -> None:
        """Raise if the store cannot be reached."""


def attempt_repository() -> AttemptRepository:
    return storage.component("attempts")  # type: ignore[no-any-return,unused-ignore]
