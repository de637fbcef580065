"""Enrolment domain: a learner's enrolment in a collection within a context.

Unenrolling deactivates the enrolment (its history is kept); enrolling again reactivates it.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
