"""Catalogue reads."""

import time

from django.conf import settings

from .catalogue import Collection, Context, nodes_from_json
from .errors import NotFoundError
from .models import CollectionRecord, ContextRecord


def collection_from_record(record: CollectionRecord) -> Collection:
    return Collection(
        identifier=record.identifier,
        name=record.name,
        description=record.description,
        logo=record.logo,
        children=nodes_from_json(record.children),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def context_from_record(record: ContextRecord) -> Context:
    return Context(
        identifier=record.identifier,
        type=record.type,
        name=record.name,
        collection_ids=tuple(record.collection_ids),
        start_date=record.start_date,
        end_date=record.end_date,
        enrollment_end_date=record.enrollment_end_date,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def collection_get(*, identifier: str) -> Collection:
    """Raises: NotFoundError."""
    record = CollectionRecord.objects.filter(identifier=identifier).first()
    if record is None:
        raise NotFoundError(f"No collection '{identifier}'.")
    return collection_from_record(record)


# Collections as the hot paths read them (each recompute needs its collection, twice), kept per
# process for VIEWER_CATALOGUE_CACHE_SECONDS: (when read, monotonic seconds; the collection).
# At most COLLECTIONS_KEPT of them: a process that reads more starts over.
_collections: dict[str, tuple[float, Collection]] = {}
COLLECTIONS_KEPT = 1024


def collection_find(*, identifier: str) -> Collection | None:
    """The collection, or None when it is not in the catalogue. Kept in the process for
    VIEWER_CATALOGUE_CACHE_SECONDS (a write in this process forgets it at once); an absent
    collection is not kept."""
    now = time.monotonic()
    kept = _collections.get(identifier)
    if kept is not None and now - kept[0] < settings.VIEWER_CATALOGUE_CACHE_SECONDS:
        return kept[1]
    try:
        collection = collection_get(identifier=identifier)
    except NotFoundError:
        _collections.pop(identifier, None)
        return None
    if settings.VIEWER_CATALOGUE_CACHE_SECONDS > 0:
        if len(_collections) >= COLLECTIONS_KEPT:
            _collections.clear()
        _collections[identifier] = (now, collection)
    return collection


def collection_forget(*, identifier: str) -> None:
    """Drop a collection from this process's cache (it was written)."""
    _collections.pop(identifier, None)


def context_find(*, identifier: str) -> Context | None:
    """The context, or None when it is not in the catalogue."""
    try:
        return context_get(identifier=identifier)
    except NotFoundError:
        return None


def context_get(*, identifier: str) -> Context:
    """Raises: NotFoundError."""
    record = ContextRecord.objects.filter(identifier=identifier).first()
    if record is None:
        raise NotFoundError(f"No context '{identifier}'.")
    return context_from_record(record)


def missing_collections(collection_ids: list[str]) -> list[str]:
    """The ids among ``collection_ids`` that are not in the catalogue."""
    known = set(
        CollectionRecord.objects.filter(identifier__in=collection_ids).values_list(
            "identifier", flat=True
        )
    )
    return [cid for cid in collection_ids if cid not in known]
