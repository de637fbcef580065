"""user_enrolments on the relational database (not a hot path: the ORM is used)."""

from datetime import datetime

from django.db import IntegrityError, transaction

from viewer import timeutil

from ..domain import Enrolment
from ..models import EnrolmentRecord


def _to_domain(record: EnrolmentRecord) -> Enrolment:
    return Enrolment(
        user_id=record.user_id,
        collection_id=record.collection_id,
        context_id=record.context_id,
        active=record.active,
        enrolled_date=record.enrolled_date,
        status=record.status,
        progress=record.progress,
        completed_on=record.completed_on,
        issued_certificates=tuple(record.issued_certificates or ()),
        last_updated_time=record.last_updated_time,
    )


class SqlEnrolmentRepository:
    def get(self, *, user_id: str, collection_id: str, context_id: str) -> Enrolment | None:
        record = EnrolmentRecord.objects.filter(
            user_id=user_id, collection_id=collection_id, context_id=context_id
        ).first()
        return None if record is None else _to_domain(record)

    def list_for_user(self, *, user_id: str) -> list[Enrolment]:
        records = EnrolmentRecord.objects.filter(user_id=user_id).order_by(
            "collection_id", "context_id"
        )
        return [_to_domain(r) for r in records]

    def activate(self, *, user_id: str, collection_id: str, context_id: str, at: datetime) -> None:
        key = {"user_id": user_id, "collection_id": collection_id, "context_id": context_id}
        now = timeutil.now()
        if EnrolmentRecord.objects.filter(**key).update(active=True, last_updated_time=now):
            return
        try:
            with transaction.atomic():
                EnrolmentRecord.objects.create(
                    **key, active=True, enrolled_date=at, last_updated_time=now
                )
        except IntegrityError:  # created concurrently: make sure it is active
            EnrolmentRecord.objects.filter(**key).update(active=True, last_updated_time=now)

    def deactivate(self, *, user_id: str, collection_id: str, context_id: str) -> None:
        EnrolmentRecord.objects.filter(
            user_id=user_id, collection_id=collection_id, context_id=context_id
        ).update(active=False, last_updated_time=timeutil.now())
