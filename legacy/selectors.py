"""Legacy reads: the course service's content state read and enrolment list.

``enrolment_list`` reads enrolments, aggregates (user_activity_agg) and the catalogue only,
never consumption rows, so it answers the same once old rows are archived.
``content_state`` reads the consumption rows (through the mode's keys, statuses read-after-write)
and, for a content whose row is gone (archived), the status the enrolment's aggregate keeps.
"""

from datetime import datetime
from typing import Any

from assessments.selectors import attempt_read
from consumption.selectors import view_read
from summaries.domain import Enrolment, StoredAggregate
from summaries.repositories import aggregate_repository
from summaries.selectors import enrolments_with_summaries
from viewer import timeutil
from viewer.catalogue import Collection, Context
from viewer.selectors import context_find

from .dates import format_legacy

ENROLMENT_LIST_SIZE = 1000  # the course service's enrollment_list_size
ATTEMPTS_LIMIT = 25  # the course service's assessment.attempts.limit


def _content_item(
    *,
    content_id: str,
    course_id: str,
    batch_id: str,
    status: int,
    progress: int,
    progress_details: dict[str, Any] | None,
    last_access_time: datetime | None,
    last_completed_time: datetime | None,
) -> dict[str, Any]:
    return {
        "contentId": content_id,
        "courseId": course_id,
        "collectionId": course_id,
        "batchId": batch_id,
        "status": status,
        "progress": progress,
        # Revisits are not counted (the view APIs ignore them): a started content was viewed
        # once, a completed one completed once.
        "viewCount": 1 if status >= 1 else 0,
        "completedCount": 1 if status == 2 else 0,
        "lastAccessTime": format_legacy(last_access_time),
        "lastCompletedTime": format_legacy(last_completed_time),
        "progressdetails": progress_details,
    }


def _scores(
    *, user_id: str, course_id: str, batch_id: str, stored: StoredAggregate | None
) -> dict[str, list[dict[str, Any]]]:
    """Per content: its latest attempts (at most 25, oldest first) as the course service lists
    them; a content whose attempts are archived lists its best one (kept by the archive and the
    aggregate)."""
    report = attempt_read(user_id=user_id, collection_id=course_id, context_id=batch_id)
    scores: dict[str, list[dict[str, Any]]] = {}
    for attempt in report.attempts:
        scores.setdefault(attempt.key.content_id, []).append(
            {
                "attempt_id": attempt.attempt_id,
                "last_attempted_on": timeutil.to_ms(attempt.assessment_ts),
                "total_max_score": attempt.total_max_score,
                "total_score": attempt.total_score,
            }
        )
    # Attempts archived (or never migrated): the best one, as the attempts or the aggregate
    # keep it.
    best: dict[str, tuple[str | None, float, float]] = {
        content_id: (b.attempt_id, b.score, b.max_score) for content_id, b in report.best.items()
    }
    values = stored.aggregates if stored else {}
    for key, score in values.items():
        if key.startswith("score:"):
            content_id = key.removeprefix("score:")
            best.setdefault(content_id, (None, score, values.get(f"max_score:{content_id}", 0.0)))
    for content_id, (attempt_id, score, max_score) in best.items():
        scores.setdefault(
            content_id,
            [
                {
                    "attempt_id": attempt_id,
                    "last_attempted_on": None,
                    "total_max_score": max_score,
                    "total_score": score,
                }
            ],
        )
    return {cid: attempts[-ATTEMPTS_LIMIT:] for cid, attempts in scores.items()}


def content_state(
    *,
    user_id: str,
    course_id: str,
    batch_id: str,
    content_ids: list[str] | None = None,
    with_scores: bool = False,
) -> list[dict[str, Any]]:
    """The course service's ``contentList``: each started content of the user in the course and
    batch (only ``content_ids`` when given), ordered by content id, with ``score`` (the
    attempts) when asked."""
    rows = [
        row
        for row in view_read(
            user_id=user_id,
            content_ids=content_ids or None,
            collection_id=course_id,
            context_id=batch_id,
        )
        if row.status > 0
    ]
    items = {
        row.key.content_id: _content_item(
            content_id=row.key.content_id,
            course_id=course_id,
            batch_id=batch_id,
            status=row.status,
            progress=row.progress,
            progress_details=row.progress_details,
            last_access_time=row.last_access_time,
            last_completed_time=row.last_completed_time,
        )
        for row in rows
    }
    stored = aggregate_repository().get(
        user_id=user_id, collection_id=course_id, context_id=batch_id
    )
    wanted = set(content_ids) if content_ids else None
    for content_id, status in (stored.content_status if stored else {}).items():
        if status > 0 and content_id not in items and (wanted is None or content_id in wanted):
            items[content_id] = _content_item(
                content_id=content_id,
                course_id=course_id,
                batch_id=batch_id,
                status=status,
                progress=100 if status == 2 else 0,
                progress_details=None,
                last_access_time=None,
                last_completed_time=None,
            )
    if with_scores:
        scores = _scores(user_id=user_id, course_id=course_id, batch_id=batch_id, stored=stored)
        for content_id, item in items.items():
            item["score"] = scores.get(content_id, [])
    return [items[content_id] for content_id in sorted(items)]


def _batch_json(context: Context, course_id: str, at: datetime) -> dict[str, Any]:
    status = 0 if at < context.start_date else (2 if context.is_expired(at) else 1)
    return {
        "identifier": context.identifier,
        "batchId": context.identifier,
        "courseId": course_id,
        "name": context.name,
        "startDate": context.start_date.date().isoformat(),
        "endDate": context.end_date.date().isoformat() if context.end_date else None,
        "enrollmentEndDate": context.enrollment_end_date.date().isoformat()
        if context.enrollment_end_date
        else None,
        "enrollmentType": "open",
        "status": status,
    }


def _course_json(
    enrolment: Enrolment,
    collection: Collection,
    stored: StoredAggregate | None,
    context: Context | None,
    at: datetime,
) -> dict[str, Any]:
    leaf_count = len(collection.leaves)
    completed = int(stored.aggregates.get("completedCount", 0)) if stored else 0
    return {
        "userId": enrolment.user_id,
        "courseId": enrolment.collection_id,
        "collectionId": enrolment.collection_id,
        "contentId": enrolment.collection_id,
        "batchId": enrolment.context_id,
        "active": enrolment.active,
        "enrolledDate": format_legacy(enrolment.enrolled_date),
        "dateTime": timeutil.to_ms(enrolment.last_updated_time),
        "courseName": collection.name,
        "description": collection.description,
        "courseLogoUrl": collection.logo or None,
        "leafNodesCount": leaf_count,
        "content": {
            "identifier": collection.identifier,
            "name": collection.name,
            "description": collection.description,
            "appIcon": collection.logo or None,
            "leafNodesCount": leaf_count,
        },
        "contentStatus": {
            cid: status
            for cid, status in (stored.content_status if stored else {}).items()
            if status
        },
        "progress": completed,
        "completionPercentage": enrolment.progress,
        "status": enrolment.status,
        "completedOn": timeutil.to_ms(enrolment.completed_on),
        "issuedCertificates": list(enrolment.issued_certificates),
        "certificates": [],
        "lastReadContentId": None,
        "lastReadContentStatus": None,
        "lastContentAccessTime": None,
        "batch": None if context is None else _batch_json(context, enrolment.collection_id, at),
    }


def enrolment_list(*, user_id: str) -> list[dict[str, Any]]:
    """The course service's ``courses``: the user's active enrolments in catalogued courses,
    latest enrolment first (at most 1000), from enrolments and aggregates only."""
    at = timeutil.now()
    contexts: dict[str, Context | None] = {}
    courses = []
    for enrolment, collection, stored in enrolments_with_summaries(
        user_id=user_id, active_only=True, limit=ENROLMENT_LIST_SIZE
    ):
        if collection is None:  # the course service drops courses its search does not find
            continue
        if enrolment.context_id not in contexts:
            contexts[enrolment.context_id] = context_find(identifier=enrolment.context_id)
        courses.append(
            _course_json(enrolment, collection, stored, contexts[enrolment.context_id], at)
        )
    return courses
