"""collection: progress belongs to the collection, whatever context it is opened in."""

from viewer.identifiers import ConsumptionKey, ViewTarget

from .base import CarryPort, EnrolmentRef, TrackingPolicy


class CollectionPolicy(TrackingPolicy):
    name = "collection"
    description = (
        "One row per (collection, content): progress in a course carries across its batches "
        "and programs, but not into other courses or to the content opened on its own."
    )

    def key(self, target: ViewTarget) -> ConsumptionKey:
        collection_id = target.collection_id or target.content_id
        return ConsumptionKey(
            user_id=target.user_id,
            collection_id=collection_id,
            context_id=collection_id,
            content_id=target.content_id,
        )

    def affected_enrolments(self, *, key: ConsumptionKey, port: CarryPort) -> list[EnrolmentRef]:
        """Every active enrolment of the user in the collection, whatever its context."""
        return [
            e for e in port.active_enrolments(key.user_id) if e.collection_id == key.collection_id
        ]
