"""Enrolment writes (enrol, unenrol, with the course service's rules and the mode's hooks) and
the aggregation: recompute a summary, schedule recomputes, follow up a completion."""

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from assessments.selectors import attempt_read
from consumption.domain import WriteOutcome
from consumption.repositories import consumption_repository
from consumption.services import content_complete
from modes.policies.base import EnrolmentRef
from modes.selectors import active_policy
from viewer import logs, metrics, storage, timeutil
from viewer.catalogue import Context
from viewer.errors import (
    AlreadyEnrolledError,
    ContextCompletedError,
    EnrolmentEndedError,
    InvalidContextError,
    NotEnrolledError,
    NotFoundError,
)
from viewer.exceptions import COORDINATION_UNAVAILABLE
from viewer.identifiers import ConsumptionKey, Scope
from viewer.selectors import collection_find, context_get

from .carry import StoreCarryPort
from .domain import Aggregate, Enrolment, aggregate
from .repositories import aggregate_repository, enrolment_repository
from .repositories.outbox import announcement_outbox

logger = logging.getLogger(__name__)

# A fan-out task that died holding an announcement's lease gives it back after this long.
ANNOUNCEMENT_LEASE_SECONDS = 300
# The sweep leaves younger announcements to the request or task that wrote them.
ANNOUNCEMENT_GRACE_SECONDS = 120


def _context_for(*, collection_id: str, context_id: str) -> Context:
    """Raises: InvalidContextError (unknown, or without this collection)."""
    try:
        context = context_get(identifier=context_id)
    except NotFoundError as exc:
        raise InvalidContextError(f"request.contextId: Invalid context id '{context_id}'.") from exc
    if collection_id not in context.collection_ids:
        raise InvalidContextError(
            f"request.contextId: Context '{context_id}' does not include collection "
            f"'{collection_id}'."
        )
    return context


def enrolment_create(*, user_id: str, collection_id: str, context_id: str) -> Enrolment:
    """Enrol a learner (or re-enrol, keeping the history), run the mode's enrol hook and
    schedule the summaries it affects.

    Raises: InvalidContextError, ContextCompletedError, EnrolmentEndedError,
    AlreadyEnrolledError.
    """
    at = timeutil.now()
    context = _context_for(collection_id=collection_id, context_id=context_id)
    if context.is_expired(at):
        raise ContextCompletedError(f"Context '{context_id}' has already ended.")
    if context.enrollment_end_date is not None and at > context.enrollment_end_date:
        raise EnrolmentEndedError(f"The enrolment end date of context '{context_id}' has passed.")
    repository = enrolment_repository()
    key = {"user_id": user_id, "collection_id": collection_id, "context_id": context_id}
    existing = repository.get(**key)
    if existing is not None and existing.active:
        raise AlreadyEnrolledError(
            f"User '{user_id}' is already enrolled in '{collection_id}' in '{context_id}'."
        )
    repository.activate(**key, at=at)
    enrolment = EnrolmentRef(user_id, collection_id, context_id)
    port = StoreCarryPort()
    written = active_policy().on_enrol(enrolment=enrolment, port=port, at=at)
    # A move deactivated the old enrolment: recompute it too (its rows left).
    touched = {
        enrolment,
        *(EnrolmentRef(k.user_id, k.collection_id, k.context_id) for k in written),
    }
    touched |= {
        EnrolmentRef(user_id, e.collection_id, e.context_id)
        for e in repository.list_for_user(user_id=user_id)
        if e.collection_id == collection_id
    }
    transaction.on_commit(lambda: summary_schedule(touched))
    created = repository.get(**key)
    assert created is not None
    return created


def enrolment_cancel(*, user_id: str, collection_id: str, context_id: str) -> None:
    """Unenrol: the enrolment becomes inactive (its progress is kept for a re-enrolment).

    Raises: InvalidContextError, ContextCompletedError, NotEnrolledError.
    """
    context = _context_for(collection_id=collection_id, context_id=context_id)
    if context.is_expired(timeutil.now()):
        raise ContextCompletedError(f"Context '{context_id}' has already ended.")
    repository = enrolment_repository()
    key = {"user_id": user_id, "collection_id": collection_id, "context_id": context_id}
    existing = repository.get(**key)
    if existing is None or not existing.active:
        raise NotEnrolledError(
            f"User '{user_id}' is not enrolled in '{collection_id}' in '{context_id}'."
        )
    repository.deactivate(**key)


def summary_recompute(*, user_id: str, collection_id: str, context_id: str) -> Aggregate | None:
    """Recompute one enrolment's summary from the store: rows through the mode's keys, best
    scores from the attempts; write user_activity_agg and the enrolment (completion is
    terminal). Idempotent. None when there is no such enrolment or collection."""
    enrolment = enrolment_repository().get(
        user_id=user_id, collection_id=collection_id, context_id=context_id
    )
    if enrolment is None:
        return None
    collection = collection_find(identifier=collection_id)
    if collection is None:
        logger.warning("recompute skipped: collection %s is not in the catalogue", collection_id)
        return None
    keys = active_policy().summary_keys(
        user_id=user_id, collection=collection, context_id=context_id
    )
    rows = {
        row.key.content_id: (row.status, row.last_completed_time)
        for row in consumption_repository().get_many(user_id=user_id, keys=keys)
    }
    report = attempt_read(user_id=user_id, collection_id=collection_id, context_id=context_id)
    result = aggregate(
        user_id=user_id,
        context_id=context_id,
        collection=collection,
        rows=rows,
        scores=report.best,
        at=timeutil.now(),
    )
    aggregate_repository().save(aggregate=result)
    # A completed enrolment is terminal; one whose progress and status did not change is left
    # alone (a conditional write less, e.g. after a new best score on a completed content).
    if enrolment.status < 2 and (result.progress, result.status) != (
        enrolment.progress,
        enrolment.status,
    ):
        if result.status == 2:  # the outbox first: a crash after the terminal write loses nothing
            announcement_outbox().add(
                ref=EnrolmentRef(user_id, collection_id, context_id), at=timeutil.now()
            )
        completed_now = enrolment_repository().record_progress(
            user_id=user_id,
            collection_id=collection_id,
            context_id=context_id,
            progress=result.progress,
            status=result.status,
            completed_on=result.completed_on,
        )
        if completed_now:
            announce(user_id=user_id, collection_id=collection_id, context_id=context_id)
    return result


def announce(*, user_id: str, collection_id: str, context_id: str) -> None:
    """Hand a completion to the fan-out task; with the broker unreachable it stays in the
    outbox for the sweep."""
    from .tasks import completion_webhooks_task

    try:
        completion_webhooks_task.delay(user_id, collection_id, context_id)
    except COORDINATION_UNAVAILABLE as exc:
        logger.warning("completion announcement left for the sweep: %s", type(exc).__name__)


def announcement_lease(*, ref: EnrolmentRef) -> bool:
    """Lease a pending announcement to fan it out: True for the one caller that got it (the
    lease lapses after ANNOUNCEMENT_LEASE_SECONDS if that caller dies before it is done)."""
    return announcement_outbox().lease(
        ref=ref, at=timeutil.now(), seconds=ANNOUNCEMENT_LEASE_SECONDS
    )


def announcement_done(*, ref: EnrolmentRef) -> None:
    announcement_outbox().remove(ref=ref)


def announcements_left() -> list[EnrolmentRef]:
    """Announcements a crash or a broker outage left behind (older than
    ANNOUNCEMENT_GRACE_SECONDS, not leased): those of completed enrolments, to announce again;
    those whose terminal write never happened are dropped (a later completion writes anew)."""
    now, outbox = timeutil.now(), announcement_outbox()
    stale = outbox.stale(
        created_before=now - timedelta(seconds=ANNOUNCEMENT_GRACE_SECONDS), at=now, limit=1000
    )
    left = []
    for ref in stale:
        enrolment = enrolment_repository().get(
            user_id=ref.user_id, collection_id=ref.collection_id, context_id=ref.context_id
        )
        if enrolment is not None and enrolment.status == 2:
            left.append(ref)
        else:
            outbox.remove(ref=ref)
    return left


def summary_recompute_observed(
    *,
    scope: EnrolmentRef,
    event_ms: int | None = None,
    recompute: Callable[..., Aggregate | None] | None = None,
) -> Aggregate | None:
    """``summary_recompute`` (or ``recompute``, the same) of one scope, observed: duration,
    running count, one log line, and - given when its event happened (epoch ms) - the lag to
    the summary written."""
    started, outcome = time.perf_counter(), "error"
    metrics.RECOMPUTES_RUNNING.inc()
    try:
        result = (recompute or summary_recompute)(
            user_id=scope.user_id, collection_id=scope.collection_id, context_id=scope.context_id
        )
        outcome = "skipped" if result is None else "written"
        if result is not None and event_ms is not None:
            metrics.SUMMARY_LAG.observe(max(0.0, time.time() - event_ms / 1000))
        return result
    finally:
        metrics.RECOMPUTES_RUNNING.dec()
        seconds = time.perf_counter() - started
        metrics.child(metrics.RECOMPUTE_SECONDS, outcome).observe(seconds)
        logger.info(
            "recompute",
            extra={
                "fields": {
                    "user": logs.user_ref(scope.user_id),
                    "collection_id": scope.collection_id,
                    "context_id": scope.context_id,
                    "outcome": outcome,
                    "duration_ms": round(seconds * 1000, 2),
                }
            },
        )


def summary_schedule(scopes: Iterable[EnrolmentRef]) -> None:
    """Schedule recomputes. With a broker: coalesced per user (summaries.coordination);
    without one (the embedded default), or when Redis or the broker stays unreachable (the
    write is done: its summary must not be lost), at once, in this process."""
    scopes = list(scopes)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        _recompute_now(scopes)
        return
    from .coordination import coordinator
    from .tasks import recompute_user_task

    try:
        for user_id in coordinator().mark(scopes):
            recompute_user_task.delay(user_id)
    except COORDINATION_UNAVAILABLE as exc:
        # Marked scopes stay dirty for the sweep; the summary is written now all the same.
        logger.warning("recompute scheduling unavailable (%s): recomputing in-process", exc)
        _recompute_now(scopes)


def _recompute_now(scopes: list[EnrolmentRef]) -> None:
    event_ms = int(time.time() * 1000)
    for scope in sorted(set(scopes), key=lambda s: (s.user_id, s.collection_id, s.context_id)):
        summary_recompute_observed(scope=scope, event_ms=event_ms)


def attempt_followup(*, key: ConsumptionKey, at: datetime) -> None:
    """After an attempt was recorded: the content is complete (a new completion follows up on
    its own); otherwise the scores changed, so recompute the enrolments it affects."""
    if content_complete(key=key, at=at) is not WriteOutcome.APPLIED:
        summary_schedule(active_policy().affected_enrolments(key=key, port=StoreCarryPort()))


def completion_followup(*, key: ConsumptionKey) -> list[ConsumptionKey]:
    """After a row reached status 2: the mode's completion hook (copy mode copies it), then a
    recompute of every enrolment the changes affect (ask the policy). Returns the keys copied."""
    policy, port = active_policy(), StoreCarryPort()
    written = policy.on_completion(key=key, port=port, at=timeutil.now())
    affected = {e for k in (key, *written) for e in policy.affected_enrolments(key=k, port=port)}
    summary_schedule(affected)
    return written


def summary_delete(
    *, user_id: str, collection_id: str | None = None, context_id: str | None = None
) -> int:
    """Delete one enrolment's scope (or, without ids, everything of the user): the enrolment,
    its aggregates, its consumption rows, its attempts and its status-map entries. Returns the
    number of scopes removed."""
    from assessments.repositories import attempt_repository

    rows = consumption_repository().list_user(user_id=user_id)
    if collection_id is not None and context_id is not None:
        scopes = {(collection_id, context_id)}
    else:
        scopes = {
            (e.collection_id, e.context_id)
            for e in enrolment_repository().list_for_user(user_id=user_id)
        }
        scopes |= {(row.key.collection_id, row.key.context_id) for row in rows}
    status_map = storage.status_map()
    for coll, ctx in sorted(scopes):
        keys = [r.key for r in rows if (r.key.collection_id, r.key.context_id) == (coll, ctx)]
        consumption_repository().delete_many(user_id=user_id, keys=keys)
        status_map.forget_scope(scope=Scope(user_id, coll, ctx))
        attempt_repository().delete_scope(user_id=user_id, collection_id=coll, context_id=ctx)
        catalogued = collection_find(identifier=coll)
        units = catalogued.units if catalogued else []
        aggregate_repository().delete(
            user_id=user_id, collection_id=coll, context_id=ctx, unit_ids=units
        )
        enrolment_repository().delete(user_id=user_id, collection_id=coll, context_id=ctx)
    return len(scopes)


def summary_export(*, user_id: str, file_format: str) -> str:
    """Write the user's summaries to a file in Django's storage; returns its storage name."""
    import csv
    import io
    import json
    import uuid

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils.text import get_valid_filename

    from .selectors import summary_list

    summaries = summary_list(user_id=user_id)
    if file_format == "csv":
        out = io.StringIO()
        columns = [
            "userId",
            "collectionId",
            "contextId",
            "enrolledDate",
            "active",
            "status",
            "progress",
            "completedOn",
            "lastUpdatedOn",
            "contentStatus",
            "assessmentStatus",
        ]
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for summary in summaries:
            writer.writerow(
                {
                    **summary,
                    "contentStatus": json.dumps(summary["contentStatus"], sort_keys=True),
                    "assessmentStatus": json.dumps(summary["assessmentStatus"], sort_keys=True),
                }
            )
        content = out.getvalue()
    else:
        content = json.dumps({"userId": user_id, "summary": summaries}, indent=2)
    # File names are bounded (255 bytes on most file systems); the folder makes them unique.
    safe_user = get_valid_filename(user_id)[:100]
    name = f"summaries/{uuid.uuid4().hex}/{safe_user}_viewer_summary.{file_format}"
    return str(default_storage.save(name, ContentFile(content.encode())))
