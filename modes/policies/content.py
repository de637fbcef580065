"""content: a content is complete everywhere once it is complete anywhere."""

from viewer.catalogue import Collection
from viewer.identifiers import ConsumptionKey, ViewTarget

from .base import CarryPort, EnrolmentRef, TrackingPolicy


class ContentPolicy(TrackingPolicy):
    name = "content"
    description = (
        "One row per content, whatever collection or context it is opened in: completing a "
        "content once completes it in every course and batch."
    )

    def key(self, target: ViewTarget) -> ConsumptionKey:
        c = target.content_id
        return ConsumptionKey(user_id=target.user_id, collection_id=c, context_id=c, content_id=c)

    def read_contents(self, collection: Collection | None) -> list[str] | None:
        return [] if collection is None else collection.leaves

    def affected_enrolments(self, *, key: ConsumptionKey, port: CarryPort) -> list[EnrolmentRef]:
        """Every active enrolment whose collection contains the content."""
        result = []
        for enrolment in port.active_enrolments(key.user_id):
            collection = port.collection(enrolment.collection_id)
            if collection is not None and key.content_id in collection.leaves:
                result.append(enrolment)
        return result
