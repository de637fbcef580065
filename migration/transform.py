"""Legacy rows (as parsed from either source) to this service's domain values: pure functions.

A row that cannot be migrated raises ``MalformedRow`` naming why; nothing of it is written. A
row that can be migrated with a repair (an unparseable ``progressdetails``, a missing time)
comes back with notes saying what was repaired, which the report counts.

Legacy rules followed (notes/sunbird-reference.md §5, §6): a consumption status that is null
counts as 1 and anything above 2 as 2, and a completed row has progress 100; times come from
the timestamp columns, else the legacy text columns (``yyyy-MM-dd HH:mm:ss:SSSZ``), else
``datetime``; best scores merge the old int ``agg`` with the double ``aggregates``, which wins;
``user_activity_agg.context_id`` is ``"cb:" + batchId``.
"""

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assessments.domain import Attempt, Question, grand_total, score_totals
from consumption.domain import Consumption, Status
from summaries.domain import Enrolment
from viewer import timeutil
from viewer.identifiers import ConsumptionKey, ViewTarget

from .cqlvalues import LiteralError, parse_timestamp

KeyFor = Callable[[ViewTarget], ConsumptionKey]
MAX_ID = 256  # the longest id the service accepts (and its SQL columns hold)
# The attempt that carries a legacy best score whose attempts are gone (e.g. archived).
LEGACY_BEST_ATTEMPT = "legacy-best"
GRAND_TOTAL_MAX = 64


class MalformedRow(ValueError):
    """A legacy row that cannot be migrated; the message says why."""


@dataclass
class Notes:
    """Repairs made to a row that was migrated anyway."""

    items: list[str] = field(default_factory=list)

    def add(self, note: str) -> None:
        self.items.append(note)


def _id(values: Mapping[str, Any], column: str) -> str:
    value = values.get(column)
    if not isinstance(value, str) or not value.strip():
        raise MalformedRow(f"{column} is missing")
    if len(value) > MAX_ID:
        raise MalformedRow(f"{column} is longer than {MAX_ID} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise MalformedRow(f"{column} contains control characters")
    return value


def _time(values: Mapping[str, Any], column: str, text_column: str | None, notes: Notes) -> Any:
    """A timestamp column, else its legacy text column."""
    value = values.get(column)
    if isinstance(value, datetime):
        return timeutil.truncate_ms(value)
    text = values.get(text_column) if text_column else None
    if isinstance(text, str) and text.strip():
        try:
            return parse_timestamp(text)
        except LiteralError:
            notes.add(f"{text_column} is not a date: ignored")
    return None


def _int(values: Mapping[str, Any], column: str) -> int | None:
    value = values.get(column)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedRow(f"{column} is not a number")
    return int(value)


def _status(value: int | None, column: str) -> int:
    if value is None or value == 0:
        return Status.IN_PROGRESS  # a row exists: the content was opened (null counts as 1)
    if value < 0:
        raise MalformedRow(f"{column} is negative ({value})")
    return min(value, Status.COMPLETED)


def consumption_row(values: Mapping[str, Any], key_for: KeyFor) -> tuple[Consumption, Notes]:
    """A ``user_content_consumption`` row. Raises: MalformedRow."""
    notes = Notes()
    user, course, batch, content = (
        _id(values, c) for c in ("userid", "courseid", "batchid", "contentid")
    )
    status = _status(_int(values, "status"), "status")
    progress = _int(values, "progress") or 0
    progress = 100 if status == Status.COMPLETED else max(0, min(progress, 100))
    details: dict[str, Any] | None = None
    raw = values.get("progressdetails")
    if isinstance(raw, str) and raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            details = parsed
        else:
            notes.add("progressdetails is not a JSON object: dropped")
    fallback = _time(values, "datetime", None, notes)
    updated = _time(values, "last_updated_time", "lastupdatedtime", notes) or fallback
    access = _time(values, "last_access_time", "lastaccesstime", notes) or fallback or updated
    completed = None
    if status == Status.COMPLETED:
        completed = _time(values, "last_completed_time", "lastcompletedtime", notes)
        completed = completed or fallback or updated or access
    row = Consumption(
        key=key_for(ViewTarget(user, content, course, batch)),
        status=status,
        progress=progress,
        progress_details=details,
        last_access_time=access,
        last_completed_time=completed,
        last_updated_time=updated,
    )
    return row, notes


def _value_list(value: Any, what: str) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise MalformedRow(f"{what} is not a list of maps")
    return tuple({str(k): "" if v is None else str(v) for k, v in item.items()} for item in value)


def _float(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedRow(f"{what} is not a finite number")
    return float(value)


def attempt(values: Mapping[str, Any], key_for: KeyFor) -> tuple[Attempt, Notes]:
    """An ``assessment_aggregator`` row: the attempt keeps its legacy totals (the questions
    are kept as they were answered). Raises: MalformedRow."""
    notes = Notes()
    user, course, batch, content, attempt_id = (
        _id(values, c) for c in ("user_id", "course_id", "batch_id", "content_id", "attempt_id")
    )
    at = (
        _time(values, "last_attempted_on", None, notes)
        or _time(values, "updated_on", None, notes)
        or _time(values, "created_on", None, notes)
    )
    raw_questions = values.get("question") or []
    if not isinstance(raw_questions, list):
        raise MalformedRow("question is not a list")
    questions: list[Question] = []
    for index, item in enumerate(raw_questions, 1):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise MalformedRow(f"a question has no id (question {index})")
        asked = item.get("assess_ts")
        questions.append(
            Question(
                id=item["id"],
                max_score=_float(item.get("max_score"), "question max_score") or 0.0,
                score=_float(item.get("score"), "question score") or 0.0,
                assess_ts=timeutil.truncate_ms(asked)
                if isinstance(asked, datetime)
                else (at or timeutil.EPOCH),
                title=item.get("title"),
                type=item.get("type"),
                description=item.get("description"),
                params=_value_list(item.get("params"), "question params"),
                resvalues=_value_list(item.get("resvalues"), "question resvalues"),
                duration=_float(item.get("duration"), "question duration"),
            )
        )
    if at is None:
        at = max((q.assess_ts for q in questions), default=None)
    if at is None:
        notes.add("no attempt time: 1970-01-01 (any new submission replaces it)")
        at = timeutil.EPOCH
    summed_score, summed_max = score_totals(questions)
    total = _float(values.get("total_score"), "total_score")
    total_max = _float(values.get("total_max_score"), "total_max_score")
    if total is None and not questions:
        raise MalformedRow("no total_score and no questions")
    total = summed_score if total is None else total
    total_max = summed_max if total_max is None else total_max
    text = values.get("grand_total")
    if not isinstance(text, str) or not text or len(text) > GRAND_TOTAL_MAX:
        text = grand_total(total, total_max)
    return (
        Attempt(
            key=key_for(ViewTarget(user, content, course, batch)),
            attempt_id=attempt_id,
            assessment_ts=at,
            questions=tuple(questions),
            total_score=total,
            total_max_score=total_max,
            grand_total=text,
            created_on=_time(values, "created_on", None, notes),
        ),
        notes,
    )


@dataclass(frozen=True)
class LegacyScore:
    content_id: str
    score: float
    max_score: float
    at: datetime | None


@dataclass(frozen=True)
class LegacyScores:
    user_id: str
    course_id: str
    batch_id: str
    scores: tuple[LegacyScore, ...]


class NotApplicable(ValueError):
    """A legacy row with nothing to migrate (a unit's count, another kind of activity)."""


def legacy_scores(values: Mapping[str, Any]) -> tuple[LegacyScores, Notes]:
    """The best scores of a ``user_activity_agg`` collection row: ``agg`` (int, older) merged
    with ``aggregates`` (double), ``aggregates`` winning per key.

    Raises: MalformedRow; NotApplicable for a row without scores (a unit, or only a completed
    count, which the recompute derives from the rows) or not of a course batch.
    """
    notes = Notes()
    activity_type = _id(values, "activity_type")
    course, user, context = (_id(values, c) for c in ("activity_id", "user_id", "context_id"))
    if activity_type != "Course":
        raise NotApplicable(f"activity_type {activity_type!r} is not Course")
    if not context.startswith("cb:") or len(context) == 3:
        raise NotApplicable("context_id is not 'cb:<batchId>'")
    merged: dict[str, float] = {}
    for column in ("agg", "aggregates"):  # aggregates last: it wins
        raw = values.get(column) or {}
        if not isinstance(raw, dict):
            raise MalformedRow(f"{column} is not a map")
        for name, value in raw.items():
            number = _float(value, f"{column}[{name!r}]")
            if number is not None:
                merged[str(name)] = number
    stamps = values.get("agg_last_updated") or {}
    scores = []
    for name in sorted(merged):
        if not name.startswith("score:"):
            continue
        content = name.removeprefix("score:")
        if not content or len(content) > MAX_ID:
            notes.add("a score key without a valid content id: ignored")
            continue
        maximum = merged.get(f"max_score:{content}")
        if maximum is None:
            notes.add("a score without max_score: ignored")
            continue
        stamp = stamps.get(name) if isinstance(stamps, dict) else None
        scores.append(
            LegacyScore(
                content_id=content,
                score=merged[name],
                max_score=maximum,
                at=timeutil.truncate_ms(stamp) if isinstance(stamp, datetime) else None,
            )
        )
    if not scores:
        raise NotApplicable("no scores (completedCount is recomputed from the rows)")
    return LegacyScores(user, course, context.removeprefix("cb:"), tuple(scores)), notes


def legacy_best_attempt(key: ConsumptionKey, score: LegacyScore) -> Attempt:
    """The attempt that stands for a legacy best score whose attempts are not there."""
    return Attempt(
        key=key,
        attempt_id=LEGACY_BEST_ATTEMPT,
        assessment_ts=score.at or timeutil.EPOCH,
        questions=(),
        total_score=score.score,
        total_max_score=score.max_score,
        grand_total=grand_total(score.score, score.max_score),
    )


@dataclass(frozen=True)
class LegacyEnrolment:
    enrolment: Enrolment
    # Rows standing for the enrolment's contentstatus map (the aggregator's view of the rows).
    status_rows: tuple[Consumption, ...]


def enrolment(values: Mapping[str, Any], key_for: KeyFor) -> tuple[LegacyEnrolment, Notes]:
    """A ``user_enrolments`` row. A completed enrolment (status 2) stays completed with its
    completedOn (completion is terminal); any other is recomputed from the rows after the
    migration. Raises: MalformedRow."""
    notes = Notes()
    user, course, batch = (_id(values, c) for c in ("userid", "courseid", "batchid"))
    status = _int(values, "status") or 0
    if status < 0:
        raise MalformedRow(f"status is negative ({status})")
    fallback = _time(values, "datetime", None, notes)
    enrolled = _time(values, "enrolled_date", "enrolleddate", notes) or fallback
    if enrolled is None:
        notes.add("no enrolment date: 1970-01-01")
        enrolled = timeutil.EPOCH
    completed_on = None
    if status >= 2:
        completed_on = _time(values, "completedon", None, notes) or fallback
        if completed_on is None:
            notes.add("completed without completedon: the enrolment date is used")
            completed_on = enrolled
    certificates = _value_list(values.get("issued_certificates"), "issued_certificates")
    if not certificates:
        certificates = _value_list(values.get("certificates"), "certificates")
    active = values.get("active")
    if active is None:
        notes.add("active is null: inactive (the legacy list showed only active ones)")
    record = Enrolment(
        user_id=user,
        collection_id=course,
        context_id=batch,
        active=bool(active),
        enrolled_date=enrolled,
        status=2 if status >= 2 else 0,
        progress=100 if status >= 2 else 0,
        completed_on=completed_on,
        issued_certificates=certificates,
        last_updated_time=fallback,
    )
    contents = values.get("contentstatus") or {}
    if not isinstance(contents, dict):
        raise MalformedRow("contentstatus is not a map")
    access = _time(values, "lastcontentaccesstime", None, notes) or fallback
    rows = []
    for content, raw_status in sorted(contents.items()):
        if not isinstance(content, str) or not content or len(content) > MAX_ID:
            raise MalformedRow("contentstatus has an invalid content id")
        if not isinstance(raw_status, int) or raw_status < 0:
            raise MalformedRow(f"contentstatus[{content!r}] is not a status")
        if raw_status == 0:
            continue  # not started: no row
        done = raw_status >= Status.COMPLETED
        rows.append(
            Consumption(
                key=key_for(ViewTarget(user, content, course, batch)),
                status=Status.COMPLETED if done else Status.IN_PROGRESS,
                progress=100 if done else 0,
                last_access_time=access,
                last_completed_time=(completed_on or fallback or access) if done else None,
                last_updated_time=fallback,
            )
        )
    return LegacyEnrolment(record, tuple(rows)), notes
