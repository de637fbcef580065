"""copy: completions are copied into contexts when the rules pass, at enrolment and whenever a
completion happens later. Keys are strict's; copies carry provenance and never lower a row."""

from collections import defaultdict
from datetime import datetime

from viewer.identifiers import ConsumptionKey

from .base import CarryPort, EnrolmentRef, RowSnapshot, provenance, rule_facts
from .strict import StrictPolicy

COMPLETED = 2


class CopyPolicy(StrictPolicy):
    name = "copy"
    description = (
        "Keys as strict; a completion is copied into the learner's contexts when the rules "
        "pass (scope content: completions of the content opened on its own; scope collection: "
        "completions made inside another collection)."
    )

    def is_source(self, row: RowSnapshot) -> bool:
        """Tracked completions of the configured scope; copied rows are never sources."""
        key = row.key
        if row.status != COMPLETED or row.provenance is not None:
            return False
        organic = key.collection_id == key.context_id == key.content_id
        if self.config.copy_scope == "collection":
            return key.collection_id != key.content_id
        return organic

    def _copy_into(
        self,
        *,
        sources: list[RowSnapshot],
        target: ConsumptionKey,
        port: CarryPort,
        at: datetime,
    ) -> bool:
        """Copy the newest source that passes the rules into ``target``."""
        rules = self.rules()
        for source in sorted(sources, key=lambda r: r.completed_at or at, reverse=True):
            if source.key == target:
                continue
            facts = rule_facts(port=port, source=source, target_context_id=target.context_id, at=at)
            label = rules.evaluate(facts)
            if label is not None:
                record = provenance(action="copy", source=source, rule=label, at=at)
                return port.carry(source=source, target=target, provenance=record)
        return False

    def on_enrol(
        self, *, enrolment: EnrolmentRef, port: CarryPort, at: datetime
    ) -> list[ConsumptionKey]:
        collection = port.collection(enrolment.collection_id)
        if collection is None:
            return []
        by_content: dict[str, list[RowSnapshot]] = defaultdict(list)
        for row in port.rows_of_user(enrolment.user_id):
            if self.is_source(row):
                by_content[row.key.content_id].append(row)
        written = []
        for leaf in collection.leaves:
            target = ConsumptionKey(
                enrolment.user_id, enrolment.collection_id, enrolment.context_id, leaf
            )
            if self._copy_into(sources=by_content[leaf], target=target, port=port, at=at):
                written.append(target)
        return written

    def on_completion(
        self, *, key: ConsumptionKey, port: CarryPort, at: datetime
    ) -> list[ConsumptionKey]:
        source = next((r for r in port.rows_of_user(key.user_id) if r.key == key), None)
        if source is None or not self.is_source(source):
            return []
        written = []
        for enrolment in port.active_enrolments(key.user_id):
            collection = port.collection(enrolment.collection_id)
            if collection is None or key.content_id not in collection.leaves:
                continue
            target = ConsumptionKey(
                key.user_id, enrolment.collection_id, enrolment.context_id, key.content_id
            )
            if self._copy_into(sources=[source], target=target, port=port, at=at):
                written.append(target)
        return written
