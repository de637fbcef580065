"""Enrolment and summary reads. Summaries come from enrolments and aggregates only, never from
consumption rows (so they keep answering once old rows are archived)."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from consumption.repositories import consumption_repository
from modes.selectors import active_policy
from viewer import timeutil
from viewer.catalogue import Collection
from viewer.errors import NotFoundError
from viewer.selectors import collection_find, collection_get

from .domain import Enrolment, StoredAggregate
from .repositories import aggregate_repository, enrolment_repository


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


def _pending(user_id: str) -> set[tuple[str, str]]:
    """The (collection, context) scopes of the user with a recompute queued."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return set()
    from .coordination import coordinator

    return {tuple(scope) for scope in coordinator().dirty_scopes(user_id)}  # type: ignore[misc]


def _summary_json(
    enrolment: Enrolment,
    stored: StoredAggregate | None,
    collection: Collection | None,
    pending: bool,
) -> dict[str, Any]:
    values = stored.aggregates if stored else {}
    assessment_status = {
        key.removeprefix("score:"): {
            "score": score,
            "max_score": values.get(f"max_score:{key.removeprefix('score:')}", 0.0),
        }
        for key, score in values.items()
        if key.startswith("score:")
    }
    return {
        "userId": enrolment.user_id,
        "collectionId": enrolment.collection_id,
        "contextId": enrolment.context_id,
        "enrolledDate": timeutil.to_ms(enrolment.enrolled_date),
        "active": enrolment.active,
        "contentStatus": stored.content_status if stored else {},
        "assessmentStatus": assessment_status,
        "collection": None
        if collection is None
        else {
            "identifier": collection.identifier,
            "name": collection.name,
            "logo": collection.logo,
            "leafNodesCount": len(collection.leaves),
            "description": collection.description,
        },
        "issuedCertificates": list(enrolment.issued_certificates),
        "completedOn": timeutil.to_ms(enrolment.completed_on),
        "progress": enrolment.progress,
        "status": enrolment.status,
        "lastUpdatedOn": timeutil.to_ms(stored.last_updated) if stored else None,
        "pending": pending,
    }


def enrolments_with_summaries(
    *, user_id: str, active_only: bool = False, limit: int | None = None
) -> list[tuple[Enrolment, Collection | None, StoredAggregate | None]]:
    """The user's enrolments, latest enrolment first (at most ``limit``), each with its
    collection (None when not in the catalogue) and its stored aggregate (None before the
    first recompute): from enrolments, aggregates and the catalogue only."""
    enrolments = sorted(
        (
            e
            for e in enrolment_repository().list_for_user(user_id=user_id)
            if e.active or not active_only
        ),
        key=lambda e: (e.enrolled_date is None, -(timeutil.to_ms(e.enrolled_date) or 0)),
    )[:limit]
    collections: dict[str, Collection | None] = {}
    result = []
    for enrolment in enrolments:
        if enrolment.collection_id not in collections:
            collections[enrolment.collection_id] = collection_find(
                identifier=enrolment.collection_id
            )
        stored = aggregate_repository().get(
            user_id=user_id, collection_id=enrolment.collection_id, context_id=enrolment.context_id
        )
        result.append((enrolment, collections[enrolment.collection_id], stored))
    return result


def summary_list(*, user_id: str) -> list[dict[str, Any]]:
    """Every enrolment of the user with its summary, from enrolments and aggregates only."""
    pending = _pending(user_id)
    return [
        _summary_json(
            enrolment,
            stored,
            collection,
            (enrolment.collection_id, enrolment.context_id) in pending,
        )
        for enrolment, collection, stored in enrolments_with_summaries(user_id=user_id)
    ]


def summary_read(*, user_id: str, collection_id: str, context_id: str) -> dict[str, Any]:
    """Raises: NotFoundError when the user has no such enrolment."""
    enrolment = enrolment_repository().get(
        user_id=user_id, collection_id=collection_id, context_id=context_id
    )
    if enrolment is None:
        raise NotFoundError(f"No enrolment of '{user_id}' in '{collection_id}' in '{context_id}'.")
    collection = collection_find(identifier=collection_id)
    stored = aggregate_repository().get(
        user_id=user_id, collection_id=collection_id, context_id=context_id
    )
    return _summary_json(
        enrolment, stored, collection, (collection_id, context_id) in _pending(user_id)
    )
