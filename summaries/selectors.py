"""Enrolment reads."""

from dataclasses import dataclass

from consumption.repositories import consumption_repository
from modes.selectors import active_policy
from viewer.selectors import collection_get

from .domain import Enrolment
from .repositories import enrolment_repository


@dataclass(frozen=True)
class Progress:
    """A learner's progress in one enrolment, computed from the rows the mode counts."""

    content_status: dict[str, int]
    completed: int
    required: int

    @property
    def percent(self) -> int:
        return 100 * self.completed // self.required if self.required else 0

    @property
    def status(self) -> int:
        if self.required and self.completed >= self.required:
            return 2
        return 1 if any(self.content_status.values()) else 0


def enrolment_progress(*, user_id: str, collection_id: str, context_id: str) -> Progress:
    """Completed required leaves of the collection, read through the mode's keys.

    Raises: NotFoundError for a collection not in the catalogue.
    """
    collection = collection_get(identifier=collection_id)
    keys = active_policy().summary_keys(
        user_id=user_id, collection=collection, context_id=context_id
    )
    rows = {
        row.key.content_id: row.status
        for row in consumption_repository().get_many(user_id=user_id, keys=keys)
    }
    content_status = {leaf: rows.get(leaf, 0) for leaf in collection.leaves}
    required = collection.required_leaves
    completed = sum(1 for leaf in required if content_status[leaf] == 2)
    return Progress(content_status=content_status, completed=completed, required=len(required))


def enrolments_of_user(*, user_id: str) -> list[Enrolment]:
    return enrolment_repository().list_for_user(user_id=user_id)
