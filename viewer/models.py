"""The catalogue (collections and contexts). It lives in the relational default database whatever
the tracking store is, so its services and selectors use the ORM directly."""

from django.db import models


class CollectionRecord(models.Model):
    identifier = models.CharField(primary_key=True, max_length=256)
    name = models.TextField()
    description = models.TextField(blank=True, default="")
    logo = models.TextField(blank=True, default="")
    # The tree as it was PUT: [{"identifier", "children"?: [...], "optional"?: bool}, ...]
    children = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "collection"
        ordering = ["identifier"]

    def __str__(self) -> str:
        return f"{self.identifier} ({self.name})"


class ContextRecord(models.Model):
    class Type(models.TextChoices):
        BATCH = "batch"
        PROGRAM = "program"
        PROGRAM_BATCH = "program-batch"
        EVENT = "event"

    identifier = models.CharField(primary_key=True, max_length=256)
    type = models.CharField(max_length=16, choices=Type.choices)
    name = models.TextField(blank=True, default="")
    collection_ids = models.JSONField()
    start_date = models.DateTimeField()
    # The last instant of the context (a date-only end date means the end of that day).
    end_date = models.DateTimeField(null=True, blank=True)
    enrollment_end_date = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "context"
        ordering = ["identifier"]

    def __str__(self) -> str:
        return f"{self.identifier} ({self.type})"
