"""Legacy writes: the course service's content state update, mapped onto the view and assessment
operations (``consumption.services``, ``assessments.services``), and its enrolment sync.

Each content becomes a view start, then a view update (status 0/1) or a view end (status 2);
each assessment becomes an attempt submit, whose follow-up completes the content (one without
events completes it directly, as in the course service). A batch that is unknown, or not
ongoing now, is reported in the result and nothing of it is written. Everything is validated
before the first write.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from assessments.domain import Question
from assessments.services import attempt_submit
from consumption.selectors import view_read
from consumption.services import view_end, view_start, view_update
from modes.policies.base import EnrolmentRef
from summaries.repositories import enrolment_repository
from summaries.services import summary_schedule
from viewer import timeutil
from viewer.errors import InvalidParameterError
from viewer.identifiers import ViewTarget
from viewer.selectors import collection_find, context_find

from . import errors

SUCCESS = "SUCCESS"
NOT_ONGOING = "NOT_A_ON_GOING_BATCH"
NOT_EXISTS = "BATCH_NOT_EXISTS"


@dataclass(frozen=True)
class ContentState:
    """One ``contents[i]`` of a content state update."""

    content_id: str
    course_id: str
    batch_id: str | None
    status: int
    progress: float | None = None
    progress_details: dict[str, Any] | None = None
    last_access_time: datetime | None = None
    last_completed_time: datetime | None = None


@dataclass(frozen=True)
class AssessmentState:
    """One ``assessments[i]``: an attempt at a content of a course in a batch."""

    content_id: str
    course_id: str
    batch_id: str
    attempt_id: str
    assessment_ts: datetime
    answers: tuple[Question, ...]


def _batch_problem(*, batch_id: str, course_id: str, at: datetime) -> str | None:
    """The result key the course service files a batch under, or None when it is ongoing."""
    context = context_find(identifier=batch_id)
    if context is None or course_id not in context.collection_ids:
        return NOT_EXISTS
    return None if context.is_ongoing(at) else NOT_ONGOING


def _stored_details(
    user_id: str, contents: Sequence[ContentState]
) -> dict[tuple[str, str | None, str], dict[str, Any] | None]:
    """The stored progress details of the contents that update progress without sending
    details (a view update replaces them: the stored ones are sent back)."""
    wanted: dict[tuple[str, str | None], list[str]] = {}
    for item in contents:
        if item.status < 2 and item.progress_details is None:
            wanted.setdefault((item.course_id, item.batch_id), []).append(item.content_id)
    found: dict[tuple[str, str | None, str], dict[str, Any] | None] = {}
    for (course_id, batch_id), content_ids in wanted.items():
        for row in view_read(
            user_id=user_id,
            content_ids=list(dict.fromkeys(content_ids)),
            collection_id=course_id,
            context_id=batch_id,
        ):
            found[(course_id, batch_id, row.key.content_id)] = row.progress_details
    return found


def _record_content(
    user_id: str, item: ContentState, stored: dict[str, Any] | None, now: datetime
) -> None:
    target = ViewTarget(user_id, item.content_id, item.course_id, item.batch_id)
    accessed = item.last_access_time or now
    view_start(target=target, ts=accessed)
    if item.status >= 2:
        view_end(
            target=target,
            progress_details=item.progress_details,
            ts=item.last_completed_time or accessed,
        )
    elif (
        item.progress_details is not None
        or item.progress is not None
        or item.last_access_time is not None
    ):
        view_update(
            target=target,
            progress_details=item.progress_details
            if item.progress_details is not None
            else (stored or {}),
            progress=item.progress,
            ts=accessed,
        )


def content_state_update(
    *,
    user_id: str,
    contents: Sequence[ContentState],
    assessments: Sequence[AssessmentState],
) -> dict[str, Any]:
    """Record contents and assessments of one user; the course service's result: ``SUCCESS``
    per content (and per batch of an assessment), plus ``NOT_A_ON_GOING_BATCH`` and
    ``BATCH_NOT_EXISTS`` listing the batches nothing was written for.

    Raises: InvalidParameterError (an assessed content is not a leaf of its course; nothing is
    written then).
    """
    now = timeutil.now()
    problems: dict[tuple[str, str], str] = {}
    for course_id, batch_id in dict.fromkeys(
        [(c.course_id, c.batch_id) for c in contents if c.batch_id is not None]
        + [(a.course_id, a.batch_id) for a in assessments]
    ):
        assert batch_id is not None
        problem = _batch_problem(batch_id=batch_id, course_id=course_id, at=now)
        if problem is not None:
            problems[(course_id, batch_id)] = problem
    ok_contents = [c for c in contents if (c.course_id, c.batch_id) not in problems]
    ok_assessments = [a for a in assessments if (a.course_id, a.batch_id) not in problems]
    for index, item in enumerate(assessments):
        if (item.course_id, item.batch_id) in problems:
            continue
        collection = collection_find(identifier=item.course_id)
        if collection is None or item.content_id not in collection.leaves:
            raise InvalidParameterError(
                f"request.assessments[{index}].contentId: '{item.content_id}' is not a content "
                f"of course '{item.course_id}'."
            )
    stored = _stored_details(user_id, ok_contents)
    result: dict[str, Any] = {}
    for content in ok_contents:
        row = (content.course_id, content.batch_id, content.content_id)
        _record_content(user_id, content, stored.get(row), now)
        if content.progress_details is not None:  # a later item of the request keeps these
            stored[row] = content.progress_details
        result[content.content_id] = SUCCESS
    for attempt in ok_assessments:
        if attempt.answers:
            attempt_submit(
                user_id=user_id,
                content_id=attempt.content_id,
                collection_id=attempt.course_id,
                context_id=attempt.batch_id,
                attempt_id=attempt.attempt_id,
                assessment_ts=attempt.assessment_ts,
                answers=attempt.answers,
            )  # its follow-up completes the content (attempt_recorded)
        else:  # as in the course service, an assessment completes its content all the same
            _record_content(
                user_id,
                ContentState(
                    content_id=attempt.content_id,
                    course_id=attempt.course_id,
                    batch_id=attempt.batch_id,
                    status=2,
                    last_access_time=attempt.assessment_ts,
                    last_completed_time=attempt.assessment_ts,
                ),
                None,
                now,
            )
        result[attempt.batch_id] = SUCCESS
        result[attempt.content_id] = SUCCESS
    for key in (NOT_ONGOING, NOT_EXISTS):
        batches = [batch for (_, batch), problem in problems.items() if problem == key]
        if batches:
            result[key] = list(dict.fromkeys(batches))
    return result


def enrolment_sync(*, user_id: str, course_id: str, batch_id: str) -> None:
    """The update's sync mode: recompute the enrolment's summary from the store.

    Raises: InvalidRequestedDataError when there is no such enrolment.
    """
    if enrolment_repository().get(user_id=user_id, collection_id=course_id, context_id=batch_id):
        scope = EnrolmentRef(user_id, course_id, batch_id)
        transaction.on_commit(lambda: summary_schedule([scope]))
        return
    raise errors.InvalidRequestedDataError(
        f"No Enrolment found for userId: {user_id}, batchId: {batch_id}, courseId: {course_id}"
    )
