"""What ``archive_consumption`` keeps of the attempts it removes: per (user, collection,
context) and content, the best attempt (score, max score, attempt id, assessment time) and the
ids of every archived attempt (assessment_archive; ``domain.ArchivedScores``). The answers and
the totals of the other attempts are not kept. ``domain.best_of`` ranks live attempts and
archived ones together: a live attempt with the id of the archived best is a newer submission
of it, and replaces it.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from ..domain import ArchivedScores, Attempt, by_content, candidates, top

__all__ = ["ArchivedScores", "folded"]


def folded(
    existing: Mapping[str, Mapping[str, Any]], attempts: Iterable[Attempt]
) -> ArchivedScores:
    """The archived scores once ``attempts`` are folded into ``existing``."""
    result: ArchivedScores = {k: dict(v) for k, v in existing.items()}
    for content_id, group in by_content(attempts).items():
        contenders, ids = candidates(group, existing.get(content_id))
        score, ts, attempt_id, max_score = top(contenders)
        result[content_id] = {
            "score": score,
            "maxScore": max_score,
            "attemptId": attempt_id,
            "assessmentTs": ts,
            "attemptIds": sorted(ids),
        }
    return result
