"""strict: progress belongs to exactly where it was made; nothing carries anywhere."""

from viewer.identifiers import ConsumptionKey, ViewTarget

from .base import TrackingPolicy


def strict_key(target: ViewTarget) -> ConsumptionKey:
    """(collection ?? content, context ?? collection ?? content, content)."""
    collection_id = target.collection_id or target.content_id
    return ConsumptionKey(
        user_id=target.user_id,
        collection_id=collection_id,
        context_id=target.context_id or collection_id,
        content_id=target.content_id,
    )


class StrictPolicy(TrackingPolicy):
    name = "strict"
    description = (
        "Progress is kept per (collection, context): a content completed in one batch is not "
        "complete in another batch, in another course, or when opened on its own."
    )

    def key(self, target: ViewTarget) -> ConsumptionKey:
        return strict_key(target)
