"""Writes one batch of legacy rows through this service's repositories and services.

Every write is idempotent, so a batch written twice (a resumed run, a second run) changes
nothing the second time: consumption rows are inserted or raised, never lowered
(``import_rows``); attempts are upserted (a replay of the same attempt is ignored); enrolments
are inserted only when absent (``import_enrolment``); an enrolment's summary is recomputed by
``summaries.services.summary_recompute`` when it was just inserted, or when what a recompute
would give differs from what is stored (so an unchanged enrolment is not rewritten).
"""

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assessments.repositories import attempt_repository
from assessments.selectors import attempt_read
from consumption.domain import Consumption
from consumption.repositories import consumption_repository
from modes.selectors import active_policy
from summaries.domain import Enrolment, aggregate
from summaries.repositories import aggregate_repository, enrolment_repository
from summaries.services import summary_recompute
from viewer import timeutil
from viewer.catalogue import Collection
from viewer.identifiers import ConsumptionKey, ViewTarget
from viewer.selectors import collection_find

from . import transform
from .legacy import ACTIVITY_AGG, ATTEMPTS, CONSUMPTION, ENROLMENTS, LegacyTable
from .sources import SourceRow

MAX_REASONS = 50  # distinct reasons kept per counter (the rest count as "other")
MAX_EXAMPLES = 20  # rejected rows kept in the report per table


def reason_kind(message: str) -> str:
    """A reason without its particulars (quoted values, a closing parenthesis), so the
    distinct reasons stay few."""
    return re.sub(r"\s*\([^()]*\)$", "", re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", message))


@dataclass
class TableReport:
    """What happened to one legacy table (cumulative across resumed runs)."""

    read: int = 0
    written: int = 0
    unchanged: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    repaired: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, str]] = field(default_factory=list)
    # Enrolments only.
    recomputed: int = 0
    not_aggregated: Counter[str] = field(default_factory=Counter)

    def count(self, counter: Counter[str], reason: str) -> None:
        kind = reason_kind(reason)
        if kind not in counter and len(counter) >= MAX_REASONS:
            kind = "other"
        counter[kind] += 1

    def reject(self, row: SourceRow, reason: str) -> dict[str, str]:
        self.count(self.rejected, reason)
        example = {"where": row.where, "reason": reason}
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)
        return example

    def merge(self, other: "TableReport") -> None:
        self.read += other.read
        self.written += other.written
        self.unchanged += other.unchanged
        self.recomputed += other.recomputed
        for name in ("rejected", "skipped", "repaired", "not_aggregated"):
            mine: Counter[str] = getattr(self, name)
            for kind, n in getattr(other, name).items():
                if kind not in mine and len(mine) >= MAX_REASONS:
                    kind = "other"
                mine[kind] += n
        room = MAX_EXAMPLES - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])

    def to_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "written": self.written,
            "unchanged": self.unchanged,
            "rejected": dict(self.rejected),
            "skipped": dict(self.skipped),
            "repaired": dict(self.repaired),
            "examples": self.examples,
            "recomputed": self.recomputed,
            "not_aggregated": dict(self.not_aggregated),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TableReport":
        report = cls(
            read=data.get("read", 0),
            written=data.get("written", 0),
            unchanged=data.get("unchanged", 0),
            recomputed=data.get("recomputed", 0),
            examples=list(data.get("examples", [])),
        )
        for name in ("rejected", "skipped", "repaired", "not_aggregated"):
            getattr(report, name).update(data.get(name, {}))
        return report


Reject = Callable[[SourceRow, str], None]


class BatchWriter:
    """Transforms and writes batches. ``dry_run``: transforms and reads only, writes nothing
    (counted as written what would be offered to the store)."""

    def __init__(self, *, dry_run: bool = False, on_reject: Reject | None = None) -> None:
        self.dry_run = dry_run
        self.on_reject = on_reject
        policy = active_policy()
        self.key_for = policy.key

    def write(self, table: LegacyTable, rows: list[SourceRow]) -> TableReport:
        report = TableReport(read=len(rows))
        handler = {
            CONSUMPTION.name: self._consumption,
            ATTEMPTS.name: self._attempts,
            ACTIVITY_AGG.name: self._scores,
            ENROLMENTS.name: self._enrolments,
        }[table.name]
        parsed: list[tuple[SourceRow, Any]] = []
        for row in rows:
            if row.error is not None:
                self._reject(report, row, row.error)
                continue
            parsed.append((row, row.values))
        handler(report, parsed)
        return report

    def _reject(self, report: TableReport, row: SourceRow, reason: str) -> None:
        report.reject(row, reason)
        if self.on_reject is not None:
            self.on_reject(row, reason)

    def _transform(
        self, report: TableReport, parsed: list[tuple[SourceRow, Any]], function: Callable[..., Any]
    ) -> list[Any]:
        out = []
        for row, values in parsed:
            try:
                value, notes = function(values)
            except transform.MalformedRow as exc:
                self._reject(report, row, str(exc))
                continue
            except transform.NotApplicable as exc:
                report.count(report.skipped, str(exc))
                continue
            for note in notes.items:
                report.count(report.repaired, note)
            out.append(value)
        return out

    def _import_rows(self, report: TableReport, rows: list[Consumption]) -> int:
        """Rows merged per storage key (a mode may map several legacy keys to one), the
        highest (status, progress) winning, then imported."""
        merged: dict[ConsumptionKey, Consumption] = {}
        for row in rows:
            current = merged.get(row.key)
            if current is not None:
                report.count(report.repaired, "two legacy rows share one storage key: merged")
            if current is None or (row.status, row.progress) > (current.status, current.progress):
                merged[row.key] = row
        if self.dry_run or not merged:
            return len(merged)
        return consumption_repository().import_rows(rows=list(merged.values()))

    def _consumption(self, report: TableReport, parsed: list[tuple[SourceRow, Any]]) -> None:
        rows = self._transform(report, parsed, lambda v: transform.consumption_row(v, self.key_for))
        written = self._import_rows(report, rows)
        report.written += written
        report.unchanged += len(rows) - written

    def _attempts(self, report: TableReport, parsed: list[tuple[SourceRow, Any]]) -> None:
        attempts = self._transform(report, parsed, lambda v: transform.attempt(v, self.key_for))
        repository = attempt_repository()
        for attempt in attempts:
            written = self.dry_run or repository.upsert(attempt=attempt)
            report.written += written
            report.unchanged += not written

    def _scores(self, report: TableReport, parsed: list[tuple[SourceRow, Any]]) -> None:
        """A legacy best score becomes an attempt of its own only when no stored attempt of
        that content scores as high (its attempts were archived, or never kept)."""
        repository = attempt_repository()
        for legacy in self._transform(report, parsed, transform.legacy_scores):
            for score in legacy.scores:
                key = self.key_for(
                    ViewTarget(legacy.user_id, score.content_id, legacy.course_id, legacy.batch_id)
                )
                if self.dry_run:
                    report.written += 1
                    continue
                stored = repository.list_scope(
                    user_id=key.user_id,
                    collection_id=key.collection_id,
                    context_id=key.context_id,
                    content_id=key.content_id,
                )
                best = max((a.total_score for a in stored), default=None)
                if best is not None and best >= score.score:
                    report.unchanged += 1
                    continue
                written = repository.upsert(attempt=transform.legacy_best_attempt(key, score))
                report.written += written
                report.unchanged += not written

    def _enrolments(self, report: TableReport, parsed: list[tuple[SourceRow, Any]]) -> None:
        legacy = self._transform(report, parsed, lambda v: transform.enrolment(v, self.key_for))
        collections: dict[str, Collection | None] = {}
        for item in legacy:
            cid = item.enrolment.collection_id
            if cid not in collections:
                collections[cid] = collection_find(identifier=cid)
        if self.dry_run:
            report.written += len(legacy)
            for item in legacy:
                if collections[item.enrolment.collection_id] is None:
                    report.not_aggregated[item.enrolment.collection_id] += 1
            return
        repository = enrolment_repository()
        inserted = [repository.import_enrolment(enrolment=item.enrolment) for item in legacy]
        report.written += sum(inserted)
        report.unchanged += len(legacy) - sum(inserted)
        # The contentstatus maps: rows wherever the consumption table had none, or lower ones.
        status_rows = [row for item in legacy for row in item.status_rows]
        written_rows = self._import_rows(report, status_rows)
        if written_rows:  # the map knew more than the rows (archived, or never written)
            report.repaired["contentstatus rows written where rows were missing or lower"] += (
                written_rows
            )
        for item, new in zip(legacy, inserted, strict=True):
            enrolment = item.enrolment
            collection = collections[enrolment.collection_id]
            if collection is None:
                if len(report.not_aggregated) < MAX_REASONS:
                    report.not_aggregated[enrolment.collection_id] += 1
                else:
                    report.not_aggregated["other"] += 1
                continue
            if new or _needs_recompute(enrolment, collection):
                summary_recompute(
                    user_id=enrolment.user_id,
                    collection_id=enrolment.collection_id,
                    context_id=enrolment.context_id,
                )
                report.recomputed += 1


def _needs_recompute(enrolment: Enrolment, collection: Collection) -> bool:
    """Whether a recompute would change the stored aggregate or enrolment (read-only)."""
    user_id, context_id = enrolment.user_id, enrolment.context_id
    stored = aggregate_repository().get(
        user_id=user_id, collection_id=collection.identifier, context_id=context_id
    )
    if stored is None:
        return True
    keys = active_policy().summary_keys(
        user_id=user_id, collection=collection, context_id=context_id
    )
    rows = {
        row.key.content_id: (row.status, row.last_completed_time)
        for row in consumption_repository().get_many(user_id=user_id, keys=keys)
    }
    scores = attempt_read(
        user_id=user_id, collection_id=collection.identifier, context_id=context_id
    ).best
    fresh = aggregate(
        user_id=user_id,
        context_id=context_id,
        collection=collection,
        rows=rows,
        scores=scores,
        at=timeutil.now(),
    )
    if stored.content_status != fresh.content_status or stored.aggregates != fresh.aggregates():
        return True
    current = enrolment_repository().get(
        user_id=user_id, collection_id=collection.identifier, context_id=context_id
    )
    return (
        current is not None
        and current.status < 2
        and ((current.progress, current.status) != (fresh.progress, fresh.status))
    )
