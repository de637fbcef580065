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
