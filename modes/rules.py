"""The carry-forward rules DSL (MODES.md): when may a completion be copied or moved?

``{"match": "all"|"any", "rules": [{"type": "completedWithin", "unit": "days"|"months",
"value": N}, {"type": "withinContextDuration"}, {"type": "ongoingContext"}, {"type": "always"}]}``

Fail-closed: no rule set, an empty one, or one that does not parse carries nothing. ``parse``
raises ``RuleError`` with a message naming the offending part, for admin and the command line.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from viewer.catalogue import Context

RULE_TYPES = ("completedWithin", "withinContextDuration", "ongoingContext", "always")
UNIT_DAYS = {"days": 1, "months": 30}  # a month is 30 days


class RuleError(ValueError):
    """An invalid rule set; the message names the part at fault."""


@dataclass(frozen=True)
class RuleFacts:
    """What a rule is evaluated against: S = source row, T = target context, t = now."""

    at: datetime
    completed_at: datetime | None
    target: Context | None = None
    source_context: Context | None = None


@dataclass(frozen=True)
class Rule:
    type: str
    unit: str | None = None
    value: int | None = None

    @property
    def label(self) -> str:
        if self.type == "completedWithin":
            return f"completedWithin {self.value} {self.unit}"
        return self.type

    def passes(self, facts: RuleFacts) -> bool:
        if self.type == "always":
            return True
        if self.type == "completedWithin":
            assert self.unit is not None and self.value is not None
            window = timedelta(days=self.value * UNIT_DAYS[self.unit])
            return facts.completed_at is not None and facts.at - facts.completed_at <= window
        if self.type == "withinContextDuration":
            target, done = facts.target, facts.completed_at
            return (
                target is not None
                and done is not None
                and target.start_date <= done
                and (target.end_date is None or done <= target.end_date)
            )
        if self.type == "ongoingContext":
            return facts.source_context is not None and facts.source_context.is_ongoing(facts.at)
        return False


@dataclass(frozen=True)
class RuleSet:
    match: str = "all"
    rules: tuple[Rule, ...] = ()

    def evaluate(self, facts: RuleFacts) -> str | None:
        """The label of the rule(s) that let the carry happen, or None (fail-closed)."""
        if not self.rules:
            return None
        passing = [rule for rule in self.rules if rule.passes(facts)]
        if self.match == "any":
            return passing[0].label if passing else None
        if len(passing) == len(self.rules):
            return " and ".join(rule.label for rule in self.rules)
        return None

    @classmethod
    def parse(cls, raw: Any) -> "RuleSet":
        """A RuleSet from JSON text or a decoded object; None or "" is the empty set.

        Raises: RuleError.
        """
        if raw is None or raw == "":
            return cls()
        if isinstance(raw, str | bytes):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                raise RuleError(f"rules: not valid JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise RuleError('rules: must be an object {"match": ..., "rules": [...]}')
        unknown = sorted(set(raw) - {"match", "rules"})
        if unknown:
            raise RuleError(f"rules: unknown field(s) {', '.join(unknown)}")
        match = raw.get("match", "all")
        if match not in ("all", "any"):
            raise RuleError(f"match: must be 'all' or 'any', not {match!r}")
        items = raw.get("rules")
        if not isinstance(items, list) or not items:
            raise RuleError("rules: must be a non-empty list (no rule carries nothing)")
        return cls(match=match, rules=tuple(_parse_rule(i, item) for i, item in enumerate(items)))


def _parse_rule(index: int, item: Any) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(item, dict):
        raise RuleError(f"{where}: must be an object with a type")
    kind = item.get("type")
    if kind not in RULE_TYPES:
        raise RuleError(f"{where}.type: must be one of {', '.join(RULE_TYPES)}, not {kind!r}")
    allowed = {"type", "unit", "value"} if kind == "completedWithin" else {"type"}
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {', '.join(unknown)} for {kind}")
    if kind != "completedWithin":
        return Rule(type=kind)
    unit, value = item.get("unit"), item.get("value")
    if unit not in UNIT_DAYS:
        raise RuleError(f"{where}.unit: must be 'days' or 'months', not {unit!r}")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuleError(f"{where}.value: must be a whole number >= 0, not {value!r}")
    return Rule(type=kind, unit=unit, value=value)
