"""Assessment domain: one attempt per (user, collection, context, content, attempt id) and the
score rules of Sunbird's assessment aggregator (notes/sunbird-reference.md §5.3).

An attempt keeps the latest answer per question (by the event's time); its total score and
total max score are the sums over those answers (doubles), and ``grand_total`` formats them the
way the legacy job did (Java ``"0.0#"``: "2.0/3.0", "1.33/3.0"). A stored attempt is replaced
only by a strictly newer submission of it. The best attempt of a content is the one with the
highest total score, ties going to the earlier attempt; it keeps its own max score.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from viewer import timeutil
from viewer.identifiers import ConsumptionKey

# Answers as stored in the question UDT: a list of string-to-string maps.
ValueList = tuple[dict[str, str], ...]


@dataclass(frozen=True, slots=True)
class Question:
    """One answered question of an attempt (an ASSESS event's ``edata``)."""

    id: str
    max_score: float
    score: float
    assess_ts: datetime
    title: str | None = None
    type: str | None = None
    description: str | None = None
    params: ValueList = ()
    resvalues: ValueList = ()
    duration: float | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    key: ConsumptionKey
    attempt_id: str
    assessment_ts: datetime
    questions: tuple[Question, ...]
    total_score: float
    total_max_score: float
    grand_total: str
    created_on: datetime | None = None
    updated_on: datetime | None = None


@dataclass(frozen=True, slots=True)
class BestScore:
    """The best attempt of one content, and how many attempts there are."""

    content_id: str
    score: float
    max_score: float
    attempt_id: str
    attempts_count: int


def latest_per_question(answers: Iterable[Question]) -> tuple[Question, ...]:
    """The latest answer (by ``assess_ts``) to each question, in the order questions first
    appear; of two answers with the same time, the later one in the list wins."""
    latest: dict[str, Question] = {}
    for answer in answers:
        current = latest.get(answer.id)
        if current is None or answer.assess_ts >= current.assess_ts:
            latest[answer.id] = answer
    return tuple(latest.values())


def score_totals(questions: Iterable[Question]) -> tuple[float, float]:
    """(Σ score, Σ max score) as doubles."""
    questions = list(questions)
    return (
        math.fsum(q.score for q in questions),
        math.fsum(q.max_score for q in questions),
    )


def format_score(value: float) -> str:
    """``value`` as Java's ``DecimalFormat("0.0#")`` writes it: at least one and at most two
    decimals, half-even rounding of the double's exact value (2 -> "2.0", 1.333 -> "1.33")."""
    with localcontext() as context:
        context.prec = 400  # a double has at most 309 integer digits
        fixed = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    text = f"{fixed:f}"
    return text[:-1] if text.endswith("0") else text


def grand_total(total_score: float, total_max_score: float) -> str:
    """``"<score>/<max>"``, e.g. "1.33/3.0"."""
    return f"{format_score(total_score)}/{format_score(total_max_score)}"


def attempt_from_answers(
    *,
    key: ConsumptionKey,
    attempt_id: str,
    assessment_ts: datetime,
    answers: Iterable[Question],
) -> Attempt:
    """An attempt scored from its answers: the latest answer per question, then the totals."""
    questions = latest_per_question(answers)
    total_score, total_max_score = score_totals(questions)
    return Attempt(
        key=key,
        attempt_id=attempt_id,
        assessment_ts=assessment_ts,
        questions=questions,
        total_score=total_score,
        total_max_score=total_max_score,
        grand_total=grand_total(total_score, total_max_score),
    )


# What archive_consumption keeps of a (collection, context)'s removed attempts, per content id:
# {"score", "maxScore", "attemptId", "assessmentTs" (epoch ms), "attemptIds"}.
ArchivedScores = dict[str, dict[str, Any]]
# A contender for the best attempt: (total score, assessment time in ms, attempt id, max score).
Candidate = tuple[float, int, str, float]


def by_content(attempts: Iterable[Attempt]) -> dict[str, list[Attempt]]:
    groups: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        groups.setdefault(attempt.key.content_id, []).append(attempt)
    return groups


def candidates(
    live: list[Attempt], archived: Mapping[str, Any] | None
) -> tuple[list[Candidate], set[str]]:
    """The contenders of one content (its live attempts, and the archived best unless a live
    attempt of that id replaced it) and every attempt id, archived ones included."""
    live_ids = {a.attempt_id for a in live}
    found: list[Candidate] = [
        (a.total_score, timeutil.to_ms(a.assessment_ts) or 0, a.attempt_id, a.total_max_score)
        for a in live
    ]
    if archived is None:
        return found, live_ids
    if archived["attemptId"] not in live_ids:
        found.append(
            (
                archived["score"],
                archived["assessmentTs"],
                archived["attemptId"],
                archived["maxScore"],
            )
        )
    return found, live_ids | set(archived["attemptIds"])


def top(contenders: list[Candidate]) -> Candidate:
    """The highest total score; ties to the earlier assessment time, then the smaller id."""
    return min(contenders, key=lambda c: (-c[0], c[1], c[2]))


def best_of(
    attempts: Iterable[Attempt], archived: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, BestScore]:
    """Per content id: the best attempt (``top``) over ``attempts`` and the ``archived`` best,
    with its own max score; ``attempts_count`` counts each attempt id once."""
    archived = archived or {}
    groups = by_content(attempts)
    best: dict[str, BestScore] = {}
    for content_id in sorted(set(groups) | set(archived)):
        contenders, ids = candidates(groups.get(content_id, []), archived.get(content_id))
        score, _, attempt_id, max_score = top(contenders)
        best[content_id] = BestScore(
            content_id=content_id,
            score=score,
            max_score=max_score,
            attempt_id=attempt_id,
            attempts_count=len(ids),
        )
    return best
