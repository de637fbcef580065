"""The completion outbox (viewer_pending_announcements): the only code that touches it. It lives
in the relational database whatever VIEWER_STORE is, like the catalogue, so one implementation
serves both stores."""

from datetime import datetime, timedelta

from django.db.models import Q

from modes.policies.base import EnrolmentRef

from ..models import PendingAnnouncementRecord


def _key(ref: EnrolmentRef) -> dict[str, str]:
    return {
        "user_id": ref.user_id,
        "collection_id": ref.collection_id,
        "context_id": ref.context_id,
    }


def _unleased(at: datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lt=at)


class AnnouncementOutbox:
    def add(self, *, ref: EnrolmentRef, at: datetime) -> None:
        """Record a completion about to be announced (once: a second add changes nothing)."""
        PendingAnnouncementRecord.objects.get_or_create(**_key(ref), defaults={"created_at": at})

    def lease(self, *, ref: EnrolmentRef, at: datetime, seconds: float) -> bool:
        """Lease the entry until ``at`` + ``seconds`` if it exists and is not leased: True for
        the one caller that got it."""
        return bool(
            PendingAnnouncementRecord.objects.filter(**_key(ref))
            .filter(_unleased(at))
            .update(leased_until=at + timedelta(seconds=seconds))
        )

    def remove(self, *, ref: EnrolmentRef) -> None:
        PendingAnnouncementRecord.objects.filter(**_key(ref)).delete()

    def stale(self, *, created_before: datetime, at: datetime, limit: int) -> list[EnrolmentRef]:
        """Unleased entries created before ``created_before``, oldest first."""
        records = (
            PendingAnnouncementRecord.objects.filter(created_at__lt=created_before)
            .filter(_unleased(at))
            .order_by("created_at")
            .values_list("user_id", "collection_id", "context_id")[:limit]
        )
        return [EnrolmentRef(*record) for record in records]


def announcement_outbox() -> AnnouncementOutbox:
    return AnnouncementOutbox()
