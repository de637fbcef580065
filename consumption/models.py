"""ORM record of user_content_consumption (VIEWER_STORE=sql)."""

from django.db import models


class ConsumptionRecord(models.Model):
    user_id = models.CharField(max_length=256)
    collection_id = models.CharField(max_length=256)
    context_id = models.CharField(max_length=256)
    content_id = models.CharField(max_length=256)
    status = models.PositiveSmallIntegerField(default=1)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_details = models.JSONField(null=True)
    time_spent = models.FloatField(null=True)
    last_access_time = models.DateTimeField(null=True)
    last_completed_time = models.DateTimeField(null=True)
    last_updated_time = models.DateTimeField()
    # Where a copied or moved row came from: {action, from: {...}, rule, at}.
    provenance = models.JSONField(null=True)

    class Meta:
        db_table = "user_content_consumption"
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "collection_id", "context_id", "content_id"],
                name="consumption_key",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.user_id}/{self.collection_id}/{self.context_id}/{self.content_id}={self.status}"
        )
