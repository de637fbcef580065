"""Catalogue writes: collections and contexts are replaced whole by a PUT (idempotent)."""

from typing import Any

from django.db import transaction

from .catalogue import Collection, Context
from .errors import InvalidParameterError
from .models import CollectionRecord, ContextRecord
from .selectors import (
    collection_forget,
    collection_from_record,
    context_from_record,
    missing_collections,
)


@transaction.atomic
def collection_put(*, identifier: str, data: dict[str, Any]) -> Collection:
    """Create or replace a collection and its hierarchy."""
    record, _ = CollectionRecord.objects.update_or_create(
        identifier=identifier,
        defaults={
            "name": data["name"],
            "description": data.get("description", ""),
            "logo": data.get("logo", ""),
            "children": data["children"],
        },
    )
    transaction.on_commit(lambda: collection_forget(identifier=identifier))
    return collection_from_record(record)


@transaction.atomic
def context_put(*, identifier: str, data: dict[str, Any]) -> Context:
    """Create or replace a context.

    Raises: InvalidParameterError when a collection it names is not in the catalogue.
    """
    collection_ids: list[str] = list(dict.fromkeys(data["collectionIds"]))
    missing = missing_collections(collection_ids)
    if missing:
        raise InvalidParameterError(
            f"request.collectionIds: Unknown collection(s) {', '.join(missing)}; "
            "PUT /v1/collection/{id} first."
        )
    record, _ = ContextRecord.objects.update_or_create(
        identifier=identifier,
        defaults={
            "type": data["type"],
            "name": data.get("name", ""),
            "collection_ids": collection_ids,
            "start_date": data["startDate"],
            "end_date": data.get("endDate"),
            "enrollment_end_date": data.get("enrollmentEndDate"),
        },
    )
    return context_from_record(record)
