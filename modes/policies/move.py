"""move: at enrolment into a context, the learner's rows of the same collection in another of
their active contexts move there when the rules pass (default: that context is ongoing); the
old enrolment becomes inactive. Keys are strict's; moved rows carry provenance."""

from datetime import datetime

from viewer.identifiers import ConsumptionKey

from .base import CarryPort, EnrolmentRef, provenance, rule_facts
from .strict import StrictPolicy

DEFAULT_RULES = {"match": "all", "rules": [{"type": "ongoingContext"}]}


class MovePolicy(StrictPolicy):
    name = "move"
    description = (
        "Keys as strict; enrolling into a new context of a course moves the learner's progress "
        "from their other ongoing context of that course (rows deleted at the source, the old "
        "enrolment deactivated)."
    )

    def on_enrol(
        self, *, enrolment: EnrolmentRef, port: CarryPort, at: datetime
    ) -> list[ConsumptionKey]:
        rules = self.rules(default=DEFAULT_RULES)
        rows = port.rows_of_user(enrolment.user_id)
        written: list[ConsumptionKey] = []
        for old in port.active_enrolments(enrolment.user_id):
            if old.collection_id != enrolment.collection_id or old == enrolment:
                continue
            sources = [
                row
                for row in rows
                if row.key.collection_id == old.collection_id
                and row.key.context_id == old.context_id
            ]
            if not sources:
                continue
            # The enrolment's rows move together: judged by the latest completion among them.
            latest = max(
                sources, key=lambda r: r.completed_at or datetime.min.replace(tzinfo=at.tzinfo)
            )
            facts = rule_facts(
                port=port, source=latest, target_context_id=enrolment.context_id, at=at
            )
            label = rules.evaluate(facts)
            if label is None:
                continue
            moves = [
                (
                    source,
                    ConsumptionKey(
                        enrolment.user_id,
                        enrolment.collection_id,
                        enrolment.context_id,
                        source.key.content_id,
                    ),
                    provenance(action="move", source=source, rule=label, at=at),
                )
                for source in sources
            ]
            # One atomic step: the progress is never in neither place, nor in both.
            port.move(moves)
            written.extend(target for _, target, _ in moves)
            port.deactivate(old)
        return written
