"""What ``archive_consumption`` keeps of the attempts it removes: per (user, collection,
context) and content, the best attempt (score, max score, attempt id, assessment time) and the
ids of every archived attempt (assessment_archive). The answers and the totals of the other
attempts are not kept.

``best_with_archive`` answers the best per content of live attempts and archived ones together,
as ``domain.best_of`` would have over all of them: the highest total, ties to the earlier
assessment time, then the smaller attempt id; ``attempts_count`` counts each attempt id once. A
live attempt with the id of the archived best is a newer submission of it, and replaces it.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from viewer import timeutil

from ..domain import Attempt, BestScore

# content id -> {"score", "maxScore", "attemptId", "assessmentTs" (ms), "attemptIds"}
ArchivedScores = dict[str, dict[str, Any]]


def _candidates(
    content_id: str, live: list[Attempt], archived: Mapping[str, Any] | None
) -> tuple[list[tuple[float, int, str, float]], set[str]]:
    """(score, assessment ms, attempt id, max score) of each candidate, and the attempt ids."""
    ids = {a.attempt_id for a in live}
    candidates = [
        (a.total_score, timeutil.to_ms(a.assessment_ts) or 0, a.attempt_id, a.total_max_score)
        for a in live
    ]
    if archived is not None:
        ids |= set(archived["attemptIds"])
        if archived["attemptId"] not in {a.attempt_id for a in live}:
            candidates.append(
                (
                    archived["score"],
                    archived["assessmentTs"],
                    archived["attemptId"],
                    archived["maxScore"],
                )
            )
    return candidates, ids


def _top(candidates: list[tuple[float, int, str, float]]) -> tuple[float, int, str, float]:
    return min(candidates, key=lambda c: (-c[0], c[1], c[2]))


def _by_content(attempts: Iterable[Attempt]) -> dict[str, list[Attempt]]:
    groups: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        groups.setdefault(attempt.key.content_id, []).append(attempt)
    return groups


def best_with_archive(
    attempts: Iterable[Attempt], archived: Mapping[str, Mapping[str, Any]]
) -> dict[str, BestScore]:
    """The best per content over live ``attempts`` and ``archived`` scores."""
    groups = _by_content(attempts)
    best: dict[str, BestScore] = {}
    for content_id in sorted(set(groups) | set(archived)):
        candidates, ids = _candidates(
            content_id, groups.get(content_id, []), archived.get(content_id)
        )
        score, _, attempt_id, max_score = _top(candidates)
        best[content_id] = BestScore(
            content_id=content_id,
            score=score,
            max_score=max_score,
            attempt_id=attempt_id,
            attempts_count=len(ids),
        )
    return best


def folded(
    existing: Mapping[str, Mapping[str, Any]], attempts: Iterable[Attempt]
) -> ArchivedScores:
    """The archived scores once ``attempts`` are folded into ``existing``."""
    groups = _by_content(attempts)
    result: ArchivedScores = {k: dict(v) for k, v in existing.items()}
    for content_id, group in groups.items():
        candidates, ids = _candidates(content_id, group, existing.get(content_id))
        score, ts, attempt_id, max_score = _top(candidates)
        result[content_id] = {
            "score": score,
            "maxScore": max_score,
            "attemptId": attempt_id,
            "assessmentTs": ts,
            "attemptIds": sorted(ids),
        }
    return result
