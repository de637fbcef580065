"""The enrolment repository: the only code that touches user_enrolments. Reads take the
partition key (the user id); writes are idempotent."""

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from viewer import storage

from ..domain import Aggregate, Enrolment, StoredAggregate


class EnrolmentRepository(Protocol):
    def get(self, *, user_id: str, collection_id: str, context_id: str) -> Enrolment | None: ...

    def list_for_user(self, *, user_id: str) -> list[Enrolment]:
        """Every enrolment of the user, active or not."""

    def user_ids(self) -> Iterator[str]:
        """Every user with an enrolment (a full scan: operations only, never a request)."""

    def activate(self, *, user_id: str, collection_id: str, context_id: str, at: datetime) -> None:
        """Create the enrolment (enrolled ``at``), or make an existing one active again."""

    def deactivate(self, *, user_id: str, collection_id: str, context_id: str) -> None: ...

    def import_enrolment(self, *, enrolment: Enrolment) -> bool:
        """Insert an enrolment from another system (a migration) with all its fields, unless
        one exists (then nothing changes). True when inserted."""

    def record_progress(
        self,
        *,
        user_id: str,
        collection_id: str,
        context_id: str,
        progress: int,
        status: int,
        completed_on: datetime | None,
    ) -> bool:
        """Write progress, status and completedOn unless the enrolment is already complete
        (completion is terminal). True when this write completed it."""

    def delete(self, *, user_id: str, collection_id: str, context_id: str) -> None: ...


class AggregateRepository(Protocol):
    def save(self, *, aggregate: Aggregate) -> None:
        """Write the collection row (content status written whole) and one row per unit."""

    def get(
        self, *, user_id: str, collection_id: str, context_id: str
    ) -> StoredAggregate | None: ...

    def delete(
        self, *, user_id: str, collection_id: str, context_id: str, unit_ids: list[str]
    ) -> None: ...


def aggregate_repository() -> AggregateRepository:
    return storage.component("aggregates")  # type: ignore[no-any-return,unused-ignore]


def enrolment_repository() -> EnrolmentRepository:
    return storage.component("enrolments")  # type: ignore[no-any-return,unused-ignore]
