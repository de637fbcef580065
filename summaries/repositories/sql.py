"""user_enrolments on the relational database (not a hot path: the ORM is used)."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from viewer import timeutil

from ..domain import Aggregate, Enrolment, StoredAggregate
from ..models import ActivityAggRecord, EnrolmentRecord

COURSE = "Course"


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

    def user_ids(self) -> Iterator[str]:
        users = EnrolmentRecord.objects.values_list("user_id", flat=True).distinct()
        yield from users.order_by("user_id").iterator()

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

    def import_enrolment(self, *, enrolment: Enrolment) -> bool:
        # One statement (a migration writes many): inserted, or nothing when it exists.
        table = EnrolmentRecord._meta.db_table
        prep = connection.ops.adapt_datetimefield_value
        certificates = EnrolmentRecord._meta.get_field("issued_certificates")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (user_id, collection_id, context_id, active, "
                "enrolled_date, status, progress, completed_on, issued_certificates, "
                "last_updated_time) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (user_id, collection_id, context_id) DO NOTHING",
                [
                    enrolment.user_id,
                    enrolment.collection_id,
                    enrolment.context_id,
                    enrolment.active,
                    prep(enrolment.enrolled_date or timeutil.EPOCH),
                    enrolment.status,
                    enrolment.progress,
                    prep(enrolment.completed_on) if enrolment.completed_on else None,
                    certificates.get_db_prep_save(list(enrolment.issued_certificates), connection),
                    prep(enrolment.last_updated_time or timeutil.now()),
                ],
            )
            return bool(cursor.rowcount)

    def deactivate(self, *, user_id: str, collection_id: str, context_id: str) -> None:
        EnrolmentRecord.objects.filter(
            user_id=user_id, collection_id=collection_id, context_id=context_id
        ).update(active=False, last_updated_time=timeutil.now())

    def record_progress(
        self,
        *,
        user_id: str,
        collection_id: str,
        context_id: str,
        progress: int,
        status: int,
        completed_on: datetime | None,
    ) -> bool:
        changed = EnrolmentRecord.objects.filter(
            user_id=user_id, collection_id=collection_id, context_id=context_id, status__lt=2
        ).update(
            progress=progress,
            status=status,
            completed_on=completed_on,
            last_updated_time=timeutil.now(),
        )
        return bool(changed) and status == 2

    def delete(self, *, user_id: str, collection_id: str, context_id: str) -> None:
        EnrolmentRecord.objects.filter(
            user_id=user_id, collection_id=collection_id, context_id=context_id
        ).delete()


class SqlAggregateRepository:
    def save(self, *, aggregate: Aggregate) -> None:
        key: dict[str, Any] = {"user_id": aggregate.user_id, "context_id": aggregate.context_id}
        at = aggregate.computed_at or timeutil.now()
        with transaction.atomic():
            ActivityAggRecord.objects.update_or_create(
                activity_type=COURSE,
                activity_id=aggregate.collection_id,
                **key,
                defaults={
                    "agg": {"completedCount": aggregate.completed_count},
                    "aggregates": aggregate.aggregates(),
                    "content_status": aggregate.content_status,
                    "agg_last_updated": at,
                },
            )
            for unit, count in aggregate.unit_counts.items():
                ActivityAggRecord.objects.update_or_create(
                    activity_type=COURSE,
                    activity_id=unit,
                    **key,
                    defaults={
                        "agg": {"completedCount": count},
                        "aggregates": {"completedCount": float(count)},
                        "content_status": None,
                        "agg_last_updated": at,
                    },
                )

    def get(self, *, user_id: str, collection_id: str, context_id: str) -> StoredAggregate | None:
        record = ActivityAggRecord.objects.filter(
            activity_type=COURSE, activity_id=collection_id, user_id=user_id, context_id=context_id
        ).first()
        if record is None:
            return None
        return StoredAggregate(
            content_status=dict(record.content_status or {}),
            aggregates={**{k: float(v) for k, v in record.agg.items()}, **record.aggregates},
            last_updated=record.agg_last_updated,
        )

    def delete(
        self, *, user_id: str, collection_id: str, context_id: str, unit_ids: list[str]
    ) -> None:
        ActivityAggRecord.objects.filter(
            activity_type=COURSE,
            activity_id__in=[collection_id, *unit_ids],
            user_id=user_id,
            context_id=context_id,
        ).delete()
