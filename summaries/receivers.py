"""Subscriptions to the kernel's hooks (connected in ``SummariesConfig.ready``)."""

from typing import Any

from viewer.identifiers import ConsumptionKey

from .tasks import completion_carry_task


def on_completion_recorded(*, key: ConsumptionKey, **kwargs: Any) -> None:
    completion_carry_task.delay(key.user_id, key.collection_id, key.context_id, key.content_id)
