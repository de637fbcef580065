"""Consumption domain: one row per (user, collection, context, content) and its rules.

Status only rises (0 not started, 1 in progress, 2 completed); progress is the highest seen and
100 on completion; the completion time is set once; a completed row never changes again.
"""

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from viewer.identifiers import ConsumptionKey


class Status(enum.IntEnum):
    NOT_STARTED = 0
    IN_PROGRESS = 1
    COMPLETED = 2


class WriteOutcome(enum.Enum):
    APPLIED = "applied"
    # The row exists but is completed: revisits change nothing.
    UNCHANGED = "unchanged"
    # No row: the view was never started.
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Consumption:
    key: ConsumptionKey
    status: int = Status.NOT_STARTED
    progress: int = 0
    progress_details: dict[str, Any] | None = None
    time_spent: float = 0.0
    last_access_time: datetime | None = None
    last_completed_time: datetime | None = None
    last_updated_time: datetime | None = None
    provenance: dict[str, Any] | None = None


def progress_percent(value: float) -> int:
    """A client's progress (0-100, possibly fractional) as the stored whole percent."""
    return int(value)
