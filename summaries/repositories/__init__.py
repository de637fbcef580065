"""The enrolment repository: the only code that touches user_enrolments. Reads take the
partition key (the user id); writes are idempotent."""

from datetime import datetime
from typing import Protocol

from viewer import storage

from ..domain import Enrolment


class EnrolmentRepository(Protocol):
    def get(self, *, user_id: str, collection_id: str, context_id: str) -> Enrolment | None: ...

    def list_for_user(self, *, user_id: str) -> list[Enrolment]:
        """Every enrolment of the user, active or not."""

    def activate(self, *, user_id: str, collection_id: str, context_id: str, at: datetime) -> None:
        """Create the enrolment (enrolled ``at``), or make an existing one active again."""

    def deactivate(self, *, user_id: str, collection_id: str, context_id: str) -> None: ...


def enrolment_repository() -> EnrolmentRepository:
    return storage.component("enrolments")  # type: ignore[no-any-return,unused-ignore]
