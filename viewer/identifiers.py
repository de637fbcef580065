"""Identifiers shared by every app: what a request names, and the key a row is stored under."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ViewTarget:
    """What the user opened: always a content; a collection and a context when opened inside."""

    user_id: str
    content_id: str
    collection_id: str | None = None
    context_id: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class ConsumptionKey:
    """The storage key of one consumption row: (user, collection, context, content)."""

    user_id: str
    collection_id: str
    context_id: str
    content_id: str


@dataclass(frozen=True, slots=True)
class Scope:
    """All rows of one user in one (collection, context): a read without content ids."""

    user_id: str
    collection_id: str
    context_id: str
