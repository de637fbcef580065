"""The content-status map: the read-after-write source of a content's status.

Writes raise a content's status in the request that changed its row; reads take the higher of
the map's status and the store's (a status never decreases, so the higher one is right). The
embedded default keeps no separate map: the store rows are the map.
"""

from collections.abc import Mapping, Sequence
from typing import Protocol

from .identifiers import ConsumptionKey


class ContentStatusMap(Protocol):
    def raise_status(self, *, key: ConsumptionKey, status: int) -> None:
        """Raise the status of ``key`` to ``status``; never lowers it."""

    def statuses(
        self, *, keys: Sequence[ConsumptionKey], stored: Mapping[ConsumptionKey, int]
    ) -> dict[ConsumptionKey, int]:
        """The status of each key, given the statuses the store returned for them."""


class StoreStatusMap:
    """The embedded default: statuses come straight from the store."""

    def raise_status(self, *, key: ConsumptionKey, status: int) -> None:
        return None

    def statuses(
        self, *, keys: Sequence[ConsumptionKey], stored: Mapping[ConsumptionKey, int]
    ) -> dict[ConsumptionKey, int]:
        return {key: stored.get(key, 0) for key in keys}
