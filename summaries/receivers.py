"""Subscriptions to the kernel's hooks (connected in ``SummariesConfig.ready``).

Both run in the request, after its commit: the follow-up of a completion is cheap (the mode's
hook, then marking the affected summaries dirty) and doing it here spares the workers one task
per view end; the recomputes themselves run in the workers. Should the follow-up fail, the
write has happened: the follow-up is handed to the workers instead.
"""

import logging
from datetime import datetime
from typing import Any

from viewer.identifiers import ConsumptionKey

from .services import attempt_followup, completion_followup
from .tasks import completion_task

logger = logging.getLogger(__name__)


def on_completion_recorded(*, key: ConsumptionKey, **kwargs: Any) -> None:
    try:
        completion_followup(key=key)
    except Exception as exc:  # any failure: the workers retry the follow-up from the store
        logger.warning("completion follow-up handed to the workers: %s", type(exc).__name__)
        completion_task.delay(key.user_id, key.collection_id, key.context_id, key.content_id)


def on_attempt_recorded(*, key: ConsumptionKey, assessment_ts: datetime, **kwargs: Any) -> None:
    # The content reads as complete at once (read-after-write).
    attempt_followup(key=key, at=assessment_ts)
