"""Catalogue domain: collections (a tree of units and leaves) and contexts (dated windows).

A node with children is a unit; a node without is a leaf (a content a learner consumes). A leaf
marked optional, or under a unit marked optional, does not count towards completion.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

END_OF_DAY = time(23, 59, 59, 999000)


@dataclass(frozen=True)
class CollectionNode:
    identifier: str
    children: tuple["CollectionNode", ...] = ()
    optional: bool = False

    @property
    def is_leaf(self) -> bool:
        return not self.children


@dataclass(frozen=True)
class Collection:
    identifier: str
    name: str
    children: tuple[CollectionNode, ...]
    description: str = ""
    logo: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def _walk(
        self, nodes: tuple[CollectionNode, ...], optional: bool
    ) -> Iterator[tuple[CollectionNode, bool]]:
        for node in nodes:
            inherited = optional or node.optional
            yield node, inherited
            yield from self._walk(node.children, inherited)

    def _leaf_optional(self) -> dict[str, bool]:
        """Each distinct leaf in tree order, optional only if optional everywhere it appears."""
        result: dict[str, bool] = {}
        for node, optional in self._walk(self.children, False):
            if node.is_leaf:
                result[node.identifier] = result.get(node.identifier, True) and optional
        return result

    @property
    def leaves(self) -> list[str]:
        """Every distinct leaf, in tree order."""
        return list(self._leaf_optional())

    @property
    def optional_leaves(self) -> list[str]:
        return [leaf for leaf, optional in self._leaf_optional().items() if optional]

    @property
    def required_leaves(self) -> list[str]:
        return [leaf for leaf, optional in self._leaf_optional().items() if not optional]

    @property
    def units(self) -> list[str]:
        return [n.identifier for n, _ in self._walk(self.children, False) if not n.is_leaf]

    def required_leaves_by_unit(self) -> dict[str, list[str]]:
        """Each unit (module) with the required leaves anywhere below it."""
        result: dict[str, list[str]] = {}
        for unit, optional in self._walk(self.children, False):
            if not unit.is_leaf:
                required = set(self.required_leaves)
                result[unit.identifier] = list(
                    dict.fromkeys(
                        n.identifier
                        for n, _ in self._walk(unit.children, optional)
                        if n.is_leaf and n.identifier in required
                    )
                )
        return result


def nodes_from_json(children: list[dict]) -> tuple[CollectionNode, ...]:
    return tuple(
        CollectionNode(
            identifier=child["identifier"],
            children=nodes_from_json(child.get("children") or []),
            optional=bool(child.get("optional", False)),
        )
        for child in children
    )


def nodes_to_json(nodes: tuple[CollectionNode, ...]) -> list[dict]:
    out: list[dict] = []
    for node in nodes:
        item: dict = {"identifier": node.identifier}
        if node.children:
            item["children"] = nodes_to_json(node.children)
        if node.optional:
            item["optional"] = True
        out.append(item)
    return out


@dataclass(frozen=True)
class Context:
    identifier: str
    type: str
    start_date: datetime
    collection_ids: tuple[str, ...] = field(default_factory=tuple)
    name: str = ""
    end_date: datetime | None = None
    enrollment_end_date: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def is_ongoing(self, at: datetime) -> bool:
        """startDate <= at <= the context's last instant (open-ended without an end date)."""
        return self.start_date <= at and (self.end_date is None or at <= self.end_date)

    def is_expired(self, at: datetime) -> bool:
        return self.end_date is not None and at > self.end_date


def day_start(value: date) -> datetime:
    return datetime.combine(value, time(0), tzinfo=UTC)


def day_end(value: date) -> datetime:
    """The last instant (millisecond precision) of a UTC day: an end date includes its day."""
    return datetime.combine(value, END_OF_DAY, tzinfo=UTC)
