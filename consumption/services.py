"""View writes: start, update, end. Each is one conditional store write plus a raise of the
content-status map; keys come from the active mode policy."""

from datetime import datetime
from typing import Any

from modes.selectors import active_policy
from viewer import events, metrics, storage, timeutil
from viewer.errors import ViewNotStartedError
from viewer.identifiers import ConsumptionKey, ViewTarget

from .domain import Status, WriteOutcome, progress_percent
from .repositories import consumption_repository


def _checked(outcome: WriteOutcome, key: ConsumptionKey, operation: str) -> WriteOutcome:
    if outcome is WriteOutcome.MISSING:
        metrics.child(metrics.VIEW_NOT_STARTED, operation).inc()
        raise ViewNotStartedError(
            f"The view of content '{key.content_id}' was not started "
            f"(collection '{key.collection_id}', context '{key.context_id}'): "
            "call /v1/view/start first."
        )
    return outcome


def view_start(*, target: ViewTarget, ts: datetime | None = None) -> ConsumptionKey:
    """Start a view: insert the row unless it exists (a started or completed row is kept)."""
    key = active_policy().key(target)
    consumption_repository().start(key=key, at=ts or timeutil.now())
    storage.status_map().raise_status(key=key, status=Status.IN_PROGRESS)
    return key


def view_update(
    *,
    target: ViewTarget,
    progress_details: dict[str, Any],
    progress: float | None = None,
    time_spent: float | None = None,
    ts: datetime | None = None,
) -> WriteOutcome:
    """Record progress of a started view; a completed view is left as it is.

    Raises: ViewNotStartedError.
    """
    key = active_policy().key(target)
    outcome = consumption_repository().update(
        key=key,
        at=ts or timeutil.now(),
        progress_details=progress_details,
        progress=None if progress is None else progress_percent(progress),
        time_spent=time_spent,
    )
    return _checked(outcome, key, "update")


def view_end(
    *,
    target: ViewTarget,
    progress_details: dict[str, Any] | None = None,
    ts: datetime | None = None,
) -> WriteOutcome:
    """Complete a started view (status 2, progress 100, completion time set once) and announce
    the completion; ending a completed view changes nothing.

    Raises: ViewNotStartedError.
    """
    key = active_policy().key(target)
    outcome = _checked(
        consumption_repository().end(
            key=key, at=ts or timeutil.now(), progress_details=progress_details
        ),
        key,
        "end",
    )
    if outcome is WriteOutcome.APPLIED:
        storage.status_map().raise_status(key=key, status=Status.COMPLETED)
        events.announce(events.completion_recorded, key=key)
    return outcome


def content_complete(*, key: ConsumptionKey, at: datetime) -> WriteOutcome:
    """Mark a content complete under an already-mapped key (an assessment was submitted): the
    row is started if absent, then ended like a view end. Announces a new completion."""
    repository = consumption_repository()
    repository.start(key=key, at=at)
    outcome = repository.end(key=key, at=at, progress_details=None)
    if outcome is WriteOutcome.APPLIED:
        storage.status_map().raise_status(key=key, status=Status.COMPLETED)
        events.announce(events.completion_recorded, key=key)
    return outcome
