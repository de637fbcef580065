"""Tasks of the summaries app: take ids, call one service, safe to run twice."""

from celery import shared_task

from viewer.identifiers import ConsumptionKey

from .services import completion_carry


@shared_task(name="summaries.completion_carry", acks_late=True, max_retries=5)
def completion_carry_task(
    user_id: str, collection_id: str, context_id: str, content_id: str
) -> int:
    """Carry a completion into the learner's other contexts (copy mode); idempotent: a copy
    never lowers or rewrites a complete row."""
    key = ConsumptionKey(user_id, collection_id, context_id, content_id)
    return len(completion_carry(key=key))
