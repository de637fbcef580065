"""ORM record of assessment_aggregator (VIEWER_STORE=sql): one row per attempt."""

from django.db import models


class AttemptRecord(models.Model):
    user_id = models.CharField(max_length=256)
    collection_id = models.CharField(max_length=256)
    context_id = models.CharField(max_length=256)
    content_id = models.CharField(max_length=256)
    attempt_id = models.CharField(max_length=256)
    # The submission's assessmentTs: a stored attempt is replaced only by a newer one.
    last_attempted_on = models.DateTimeField()
    # The answers, latest per question: [{id, max_score, score, assess_ts (ms), title, type,
    # description, params, resvalues, duration}] (the fields of Cassandra's question UDT).
    questions = models.JSONField(default=list)
    total_score = models.FloatField()
    total_max_score = models.FloatField()
    grand_total = models.CharField(max_length=64)
    created_on = models.DateTimeField()
    updated_on = models.DateTimeField()

    class Meta:
        db_table = "assessment_aggregator"
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "collection_id", "context_id", "content_id", "attempt_id"],
                name="attempt_key",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.user_id}/{self.collection_id}/{self.context_id}/{self.content_id}"
            f"#{self.attempt_id}={self.grand_total}"
        )


class AttemptArchiveRecord(models.Model):
    """assessment_archive: what ``archive_consumption`` keeps of the attempts it removed from
    one (user, collection, context) (see ``repositories/archived.py``)."""

    user_id = models.CharField(max_length=256)
    collection_id = models.CharField(max_length=256)
    context_id = models.CharField(max_length=256)
    # {contentId: {score, maxScore, attemptId, assessmentTs (ms), attemptIds}}
    best = models.JSONField(default=dict)
    archived_on = models.DateTimeField()

    class Meta:
        db_table = "assessment_archive"
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "collection_id", "context_id"], name="attempt_archive_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.collection_id}/{self.context_id} (archived)"
