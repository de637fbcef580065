"""The migration's checkpoints: one row per (source, legacy table), in the relational database
whatever ``VIEWER_STORE`` is (like the catalogue). On the SQL store a batch's writes and its
checkpoint commit in one transaction; on Cassandra the writes are idempotent, so a batch cut
short by a kill is simply written again."""

from django.db import models


class MigrationCheckpoint(models.Model):
    source = models.CharField(max_length=512, help_text="csv:<dir> or cassandra:<hosts>/<ks>")
    table = models.CharField(max_length=64)
    fingerprint = models.CharField(
        max_length=128, help_text="the table's identity: a checkpoint of other data is refused"
    )
    position = models.CharField(
        max_length=64, blank=True, help_text="resume after: byte offset:line, or a token"
    )
    finished = models.BooleanField(default=False)
    counts = models.JSONField(default=dict, help_text="the report so far (cumulative)")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "table"], name="migration_checkpoint_key")
        ]

    def __str__(self) -> str:
        state = "finished" if self.finished else f"at {self.position or 'start'}"
        return f"{self.source} {self.table} ({state})"
