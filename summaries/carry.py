"""The CarryPort the carrying mode policies work through: consumption rows, the status map,
the catalogue and enrolments. Lives here because ``summaries`` may import every app."""

from typing import Any

from consumption.domain import Consumption
from consumption.repositories import consumption_repository
from modes.policies.base import EnrolmentRef, RowSnapshot
from viewer import storage
from viewer.catalogue import Collection, Context
from viewer.identifiers import ConsumptionKey, Scope
from viewer.selectors import collection_find, context_find

from .repositories import enrolment_repository


def snapshot(row: Consumption) -> RowSnapshot:
    return RowSnapshot(
        key=row.key,
        status=row.status,
        completed_at=row.last_completed_time,
        provenance=row.provenance,
    )


class StoreCarryPort:
    def __init__(self) -> None:
        self._rows: dict[ConsumptionKey, Consumption] = {}
        self._collections: dict[str, Collection | None] = {}
        self._contexts: dict[str, Context | None] = {}

    def rows_of_user(self, user_id: str) -> list[RowSnapshot]:
        rows = consumption_repository().list_user(user_id=user_id)
        self._rows.update((row.key, row) for row in rows)
        return [snapshot(row) for row in rows]

    def collection(self, collection_id: str) -> Collection | None:
        if collection_id not in self._collections:
            self._collections[collection_id] = collection_find(identifier=collection_id)
        return self._collections[collection_id]

    def context(self, context_id: str) -> Context | None:
        if context_id not in self._contexts:
            self._contexts[context_id] = context_find(identifier=context_id)
        return self._contexts[context_id]

    def active_enrolments(self, user_id: str) -> list[EnrolmentRef]:
        return [
            EnrolmentRef(e.user_id, e.collection_id, e.context_id)
            for e in enrolment_repository().list_for_user(user_id=user_id)
            if e.active
        ]

    def carry(
        self, *, source: RowSnapshot, target: ConsumptionKey, provenance: dict[str, Any]
    ) -> bool:
        row = self._rows.get(source.key)
        if row is None:
            [row] = consumption_repository().get_many(user_id=source.key.user_id, keys=[source.key])
        written = consumption_repository().carry(source=row, target=target, provenance=provenance)
        if written:
            storage.status_map().raise_status(key=target, status=row.status)
        return written

    def move(self, moves: list[tuple[RowSnapshot, ConsumptionKey, dict[str, Any]]]) -> None:
        if not moves:
            return
        user_id = moves[0][0].key.user_id
        rows = {row.key: row for row in consumption_repository().list_user(user_id=user_id)}
        planned = [(rows[source.key], target, record) for source, target, record in moves]
        consumption_repository().move(moves=planned, current=rows)
        status_map = storage.status_map()
        for row, target, _ in planned:
            status_map.raise_status(key=target, status=row.status)
        for scope in {
            Scope(r.key.user_id, r.key.collection_id, r.key.context_id) for r, _, _ in planned
        }:
            status_map.forget_scope(scope=scope)

    def deactivate(self, enrolment: EnrolmentRef) -> None:
        enrolment_repository().deactivate(
            user_id=enrolment.user_id,
            collection_id=enrolment.collection_id,
            context_id=enrolment.context_id,
        )
