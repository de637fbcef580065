"""ORM record of user_enrolments (VIEWER_STORE=sql)."""

from django.db import models


class EnrolmentRecord(models.Model):
    user_id = models.CharField(max_length=256)
    collection_id = models.CharField(max_length=256)
    context_id = models.CharField(max_length=256)
    active = models.BooleanField(default=True)
    enrolled_date = models.DateTimeField()
    status = models.PositiveSmallIntegerField(default=0)
    progress = models.PositiveIntegerField(default=0)
    completed_on = models.DateTimeField(null=True)
    issued_certificates = models.JSONField(default=list)
    last_updated_time = models.DateTimeField()

    class Meta:
        db_table = "user_enrolments"
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "collection_id", "context_id"], name="enrolment_key"
            )
        ]

    def __str__(self) -> str:
        state = "active" if self.active else "inactive"
        return f"{self.user_id}/{self.collection_id}/{self.context_id} ({state})"


class ActivityAggRecord(models.Model):
    """user_activity_agg: one row per (activity, user, context); activity = the collection, or
    one of its units (modules)."""

    activity_type = models.CharField(max_length=32, default="Course")
    activity_id = models.CharField(max_length=256)
    user_id = models.CharField(max_length=256)
    context_id = models.CharField(max_length=256)
    agg = models.JSONField(default=dict)  # legacy int map: completedCount
    aggregates = models.JSONField(default=dict)  # completedCount, score:/max_score:/attempts_count:
    content_status = models.JSONField(null=True)  # written whole, collection rows only
    agg_last_updated = models.DateTimeField()

    class Meta:
        db_table = "user_activity_agg"
        constraints = [
            models.UniqueConstraint(
                fields=["activity_type", "activity_id", "user_id", "context_id"],
                name="activity_agg_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.activity_id}/{self.user_id}/{self.context_id}"


class PendingAnnouncementRecord(models.Model):
    """A ``collection.completed`` event not yet handed to the delivery tasks (an outbox, in the
    relational database whatever the store). Written before the enrolment's terminal write;
    the fan-out task leases it, enqueues one delivery per URL, then deletes it. The sweep
    announces what a crash or a broker outage left behind."""

    user_id = models.CharField(max_length=256)
    collection_id = models.CharField(max_length=256)
    context_id = models.CharField(max_length=256)
    created_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True)

    class Meta:
        db_table = "viewer_pending_announcements"
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "collection_id", "context_id"], name="announcement_key"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="announcement_created")]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.collection_id}/{self.context_id}"
