"""Enrolment domain: a learner's enrolment in a collection within a context.

Unenrolling deactivates the enrolment (its history is kept); enrolling again reactivates it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assessments.domain import BestScore


@dataclass(frozen=True)
class Enrolment:
    user_id: str
    collection_id: str
    context_id: str
    active: bool = True
    enrolled_date: datetime | None = None
    status: int = 0
    progress: int = 0
    completed_on: datetime | None = None
    issued_certificates: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    last_updated_time: datetime | None = None


@dataclass(frozen=True)
class Aggregate:
    """What a recompute derives for one enrolment (user_activity_agg and the enrolment row)."""

    user_id: str
    collection_id: str
    context_id: str
    content_status: dict[str, int]
    completed_count: int
    required_count: int
    unit_counts: dict[str, int] = field(default_factory=dict)
    scores: dict[str, BestScore] = field(default_factory=dict)
    completed_on: datetime | None = None
    computed_at: datetime | None = None

    @property
    def progress(self) -> int:
        """floor(100 x completed / required); an empty collection counts as not started."""
        return 100 * self.completed_count // self.required_count if self.required_count else 0

    @property
    def status(self) -> int:
        if self.required_count and self.completed_count >= self.required_count:
            return 2
        return 1 if any(self.content_status.values()) else 0

    def aggregates(self) -> dict[str, float]:
        """The seed's ``aggregates`` map of the collection row."""
        values: dict[str, float] = {"completedCount": float(self.completed_count)}
        for content_id, best in self.scores.items():
            values[f"score:{content_id}"] = best.score
            values[f"max_score:{content_id}"] = best.max_score
            values[f"attempts_count:{content_id}"] = float(best.attempts_count)
        return values


def aggregate(
    *,
    user_id: str,
    context_id: str,
    collection: Any,
    rows: Mapping[str, tuple[int, datetime | None]],
    scores: Mapping[str, BestScore],
    at: datetime,
) -> Aggregate:
    """Aggregate of one enrolment from its rows (content id -> (status, completion time)).

    completedOn is the latest completion time among the required leaves (the moment the
    collection became complete), not the clock of the job.
    """
    content_status = {leaf: rows.get(leaf, (0, None))[0] for leaf in collection.leaves}
    required = collection.required_leaves
    done = [leaf for leaf in required if content_status[leaf] == 2]
    complete = bool(required) and len(done) == len(required)
    times = [t for leaf in done if (t := rows[leaf][1]) is not None]
    return Aggregate(
        user_id=user_id,
        collection_id=collection.identifier,
        context_id=context_id,
        content_status=content_status,
        completed_count=len(done),
        required_count=len(required),
        unit_counts={
            unit: sum(1 for leaf in leaves if content_status.get(leaf) == 2)
            for unit, leaves in collection.required_leaves_by_unit().items()
        },
        scores={c: s for c, s in scores.items() if c in content_status},
        completed_on=max(times) if complete and times else (at if complete else None),
        computed_at=at,
    )


@dataclass(frozen=True)
class StoredAggregate:
    """The collection row of user_activity_agg as read back for a summary."""

    content_status: dict[str, int]
    aggregates: dict[str, float]
    last_updated: datetime | None
