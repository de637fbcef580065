"""Assessment writes: submit an attempt. The attempt is scored from its answers, stored under
the key the active mode policy gives the content, and announced so that the content is marked
complete and the summaries recompute (``viewer.events.attempt_recorded``)."""

from collections.abc import Iterable
from datetime import datetime

from modes.selectors import active_policy
from viewer import events
from viewer.errors import InvalidParameterError, NotFoundError
from viewer.identifiers import ConsumptionKey, ViewTarget
from viewer.selectors import collection_get

from .domain import Question, attempt_from_answers
from .repositories import attempt_repository


def _check_leaf(*, collection_id: str, content_id: str) -> None:
    """Raises: InvalidParameterError (unknown collection, or the content is not its leaf)."""
    try:
        collection = collection_get(identifier=collection_id)
    except NotFoundError as exc:
        raise InvalidParameterError(
            f"request.collectionId: No collection '{collection_id}' in the catalogue."
        ) from exc
    if content_id not in collection.leaves:
        raise InvalidParameterError(
            f"request.contentId: '{content_id}' is not a content of collection '{collection_id}'."
        )


def attempt_submit(
    *,
    user_id: str,
    content_id: str,
    collection_id: str,
    context_id: str,
    attempt_id: str,
    assessment_ts: datetime,
    answers: Iterable[Question],
) -> tuple[ConsumptionKey, bool]:
    """Record an attempt at a content of a collection: inserted, or replacing the stored one
    only when ``assessment_ts`` is newer; then announce it (also for a replay, which changes
    nothing here, so that a retry completes what an interrupted submission left undone).
    Returns the storage key and whether the attempt was written.

    Raises: InvalidParameterError (unknown collection, content not a leaf of it).
    """
    _check_leaf(collection_id=collection_id, content_id=content_id)
    key = active_policy().key(ViewTarget(user_id, content_id, collection_id, context_id))
    attempt = attempt_from_answers(
        key=key, attempt_id=attempt_id, assessment_ts=assessment_ts, answers=answers
    )
    written = attempt_repository().upsert(attempt=attempt)
    events.announce(events.attempt_recorded, key=key, assessment_ts=assessment_ts)
    return key, written
