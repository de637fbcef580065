"""Subscriptions to the kernel's hooks (connected in ``SummariesConfig.ready``)."""

from datetime import datetime
from typing import Any

from viewer.identifiers import ConsumptionKey

from .services import attempt_followup
from .tasks import completion_task


def on_completion_recorded(*, key: ConsumptionKey, **kwargs: Any) -> None:
    completion_task.delay(key.user_id, key.collection_id, key.context_id, key.content_id)


def on_attempt_recorded(*, key: ConsumptionKey, assessment_ts: datetime, **kwargs: Any) -> None:
    # In the request: the content reads as complete at once (read-after-write); the
    # recomputes it schedules run in the workers.
    attempt_followup(key=key, at=assessment_ts)
