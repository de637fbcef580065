"""The policy interface every tracking mode implements (MODES.md).

Services never branch on the mode name: they ask the active policy. A policy is built from the
instance's configuration and holds no other state. Policies that carry progress between
contexts do their reads and writes through a ``CarryPort``, implemented by the app that owns
enrolments (``summaries``), so ``modes`` imports no app to its right.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from viewer import timeutil
from viewer.catalogue import Collection, Context
from viewer.identifiers import ConsumptionKey, Scope, ViewTarget

from ..rules import RuleError, RuleFacts, RuleSet


@dataclass(frozen=True)
class ModeConfig:
    """The instance configuration a policy is built from (InstanceConfig, read once and cached)."""

    mode: str
    copy_scope: str = "content"
    rules: dict[str, Any] | None = None


@dataclass(frozen=True)
class RowSnapshot:
    """What a policy needs to know of a consumption row."""

    key: ConsumptionKey
    status: int
    completed_at: datetime | None = None
    provenance: dict[str, Any] | None = None


@dataclass(frozen=True)
class EnrolmentRef:
    user_id: str
    collection_id: str
    context_id: str


class CarryPort(Protocol):
    """Reads and writes a carrying policy needs (implemented in ``summaries.carry``)."""

    def rows_of_user(self, user_id: str) -> list[RowSnapshot]: ...

    def collection(self, collection_id: str) -> Collection | None: ...

    def context(self, context_id: str) -> Context | None: ...

    def active_enrolments(self, user_id: str) -> list[EnrolmentRef]: ...

    def carry(
        self, *, source: RowSnapshot, target: ConsumptionKey, provenance: dict[str, Any]
    ) -> bool:
        """Write ``target`` from ``source`` unless it is already as far; True when written."""

    def move(self, moves: list[tuple[RowSnapshot, ConsumptionKey, dict[str, Any]]]) -> None:
        """Move rows (source -> target, with provenance) in one atomic step: no reader sees a
        moved row in neither place nor in both."""

    def deactivate(self, enrolment: EnrolmentRef) -> None: ...


def provenance(*, action: str, source: RowSnapshot, rule: str, at: datetime) -> dict[str, Any]:
    """``{action, from, rule, at}``; a carried row that is carried again keeps its history."""
    record: dict[str, Any] = {
        "action": action,
        "from": {
            "collectionId": source.key.collection_id,
            "contextId": source.key.context_id,
            "contentId": source.key.content_id,
        },
        "rule": rule,
        "at": timeutil.to_ms(at),
    }
    if source.provenance:
        record["previous"] = source.provenance
    return record


class TrackingPolicy(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, config: ModeConfig) -> None:
        self.config = config

    @abstractmethod
    def key(self, target: ViewTarget) -> ConsumptionKey:
        """The storage key that writes and reads of ``target`` use (one function per mode)."""

    def scope(self, *, user_id: str, collection_id: str, context_id: str | None) -> Scope:
        """The rows a read of a whole (collection, context) returns, when ``read_contents`` is
        None: the rows keyed under the collection's own (collection, context)."""
        probe = self.key(ViewTarget(user_id, collection_id, collection_id, context_id))
        return Scope(
            user_id=user_id, collection_id=probe.collection_id, context_id=probe.context_id
        )

    def read_contents(self, collection: Collection | None) -> list[str] | None:
        """The contents a read of a whole collection lists, or None to list its scope's rows."""
        return None

    def summary_keys(
        self, *, user_id: str, collection: Collection, context_id: str
    ) -> list[ConsumptionKey]:
        """The rows a summary of enrolment (collection, context) counts: one per leaf."""
        return [
            self.key(ViewTarget(user_id, leaf, collection.identifier, context_id))
            for leaf in collection.leaves
        ]

    def affected_enrolments(self, *, key: ConsumptionKey, port: CarryPort) -> list[EnrolmentRef]:
        """The active enrolments whose summary a change of row ``key`` affects: by default the
        one the row is keyed under."""
        return [
            e
            for e in port.active_enrolments(key.user_id)
            if (e.collection_id, e.context_id) == (key.collection_id, key.context_id)
        ]

    def on_enrol(
        self, *, enrolment: EnrolmentRef, port: CarryPort, at: datetime
    ) -> list[ConsumptionKey]:
        """The enrol hook; returns the keys it wrote. Default: nothing."""
        return []

    def on_completion(
        self, *, key: ConsumptionKey, port: CarryPort, at: datetime
    ) -> list[ConsumptionKey]:
        """Runs after a row reached status 2; returns the keys it wrote. Default: nothing."""
        return []

    def rules(self, default: dict[str, Any] | None = None) -> RuleSet:
        """The configured rule set; one that does not parse carries nothing (fail-closed)."""
        try:
            return RuleSet.parse(self.config.rules if self.config.rules is not None else default)
        except RuleError:
            return RuleSet()


def rule_facts(
    *, port: CarryPort, source: RowSnapshot, target_context_id: str, at: datetime
) -> RuleFacts:
    return RuleFacts(
        at=at,
        completed_at=source.completed_at,
        target=port.context(target_context_id),
        source_context=port.context(source.key.context_id),
    )
