"""The carry-forward rules DSL: parsing with precise messages, and evaluation at the edges."""

from datetime import UTC, datetime, timedelta

import pytest

from modes.rules import RuleError, RuleFacts, RuleSet
from viewer.catalogue import Context, day_end

T = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def ctx(start: datetime, end: datetime | None = None) -> Context:
    return Context(identifier="b", type="batch", start_date=start, end_date=end)


def rules(*items: dict, match: str = "all") -> RuleSet:
    return RuleSet.parse({"match": match, "rules": list(items)})


WITHIN_3_MONTHS = {"type": "completedWithin", "unit": "months", "value": 3}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "rules: not valid JSON"),
        ([], "rules: must be an object"),
        ({"match": "some", "rules": [{"type": "always"}]}, "match: must be 'all' or 'any'"),
        ({"rules": []}, "rules: must be a non-empty list"),
        ({"match": "any"}, "rules: must be a non-empty list"),
        ({"rules": [{"type": "always"}], "extra": 1}, "rules: unknown field(s) extra"),
        ({"rules": ["always"]}, "rules[0]: must be an object"),
        ({"rules": [{"type": "sometimes"}]}, "rules[0].type: must be one of"),
        (
            {"rules": [{"type": "always", "value": 1}]},
            "rules[0]: unknown field(s) value for always",
        ),
        ({"rules": [{"type": "completedWithin", "unit": "weeks", "value": 1}]}, "rules[0].unit"),
        ({"rules": [{"type": "completedWithin", "unit": "days", "value": -1}]}, "rules[0].value"),
        ({"rules": [{"type": "completedWithin", "unit": "days", "value": "3"}]}, "rules[0].value"),
        ({"rules": [{"type": "completedWithin", "unit": "days"}]}, "rules[0].value"),
    ],
)
def test_rules_invalid_json_is_rejected_naming_the_part(raw: object, message: str) -> None:
    with pytest.raises(RuleError, match=None) as caught:
        RuleSet.parse(raw)
    assert message in str(caught.value)


def test_rules_absent_carry_nothing() -> None:
    for raw in (None, ""):
        assert RuleSet.parse(raw).evaluate(RuleFacts(at=T, completed_at=T)) is None


@pytest.mark.parametrize(
    ("unit", "value", "age", "passes"),
    [
        ("days", 10, timedelta(days=10), True),
        ("days", 10, timedelta(days=10) + MS, False),
        ("months", 3, timedelta(days=90), True),  # a month is 30 days
        ("months", 3, timedelta(days=90) + MS, False),
        ("days", 0, timedelta(0), True),
    ],
)
def test_rules_completed_within_boundary(
    unit: str, value: int, age: timedelta, passes: bool
) -> None:
    rule_set = rules({"type": "completedWithin", "unit": unit, "value": value})
    label = rule_set.evaluate(RuleFacts(at=T, completed_at=T - age))
    assert (label == f"completedWithin {value} {unit}") is passes


def test_rules_completed_within_needs_a_completion() -> None:
    assert rules(WITHIN_3_MONTHS).evaluate(RuleFacts(at=T, completed_at=None)) is None


@pytest.mark.parametrize(
    ("completed_at", "passes"),
    [
        (datetime(2026, 1, 1, tzinfo=UTC), True),  # the start itself
        (datetime(2026, 1, 1, tzinfo=UTC) - MS, False),
        (day_end(datetime(2026, 6, 30).date()), True),  # the last millisecond of the end date
        (day_end(datetime(2026, 6, 30).date()) + MS, False),
    ],
)
def test_rules_within_context_duration_includes_the_end_day(
    completed_at: datetime, passes: bool
) -> None:
    target = ctx(datetime(2026, 1, 1, tzinfo=UTC), day_end(datetime(2026, 6, 30).date()))
    facts = RuleFacts(at=T, completed_at=completed_at, target=target)
    assert (rules({"type": "withinContextDuration"}).evaluate(facts) is not None) is passes


def test_rules_within_context_duration_open_ended_and_unknown_target() -> None:
    open_ended = ctx(datetime(2026, 1, 1, tzinfo=UTC))
    rule_set = rules({"type": "withinContextDuration"})
    far = datetime(2099, 1, 1, tzinfo=UTC)
    assert rule_set.evaluate(RuleFacts(at=T, completed_at=far, target=open_ended)) is not None
    assert rule_set.evaluate(RuleFacts(at=T, completed_at=T, target=None)) is None


def test_rules_ongoing_context_is_about_the_source_context() -> None:
    ongoing = ctx(T - timedelta(days=1), day_end(T.date()))
    ended = ctx(T - timedelta(days=10), T - timedelta(days=1))
    rule_set = rules({"type": "ongoingContext"})
    assert rule_set.evaluate(RuleFacts(at=T, completed_at=T, source_context=ongoing))
    assert rule_set.evaluate(RuleFacts(at=T, completed_at=T, source_context=ended)) is None
    assert rule_set.evaluate(RuleFacts(at=T, completed_at=T, source_context=None)) is None


def test_rules_match_any_versus_all() -> None:
    old = RuleFacts(at=T, completed_at=T - timedelta(days=200), target=ctx(T - timedelta(days=300)))
    items = (WITHIN_3_MONTHS, {"type": "withinContextDuration"})
    assert rules(*items, match="any").evaluate(old) == "withinContextDuration"
    assert rules(*items, match="all").evaluate(old) is None
    recent = RuleFacts(at=T, completed_at=T - timedelta(days=1), target=ctx(T - timedelta(days=2)))
    assert rules(*items, match="all").evaluate(recent) == (
        "completedWithin 3 months and withinContextDuration"
    )
    assert rules({"type": "always"}).evaluate(RuleFacts(at=T, completed_at=None)) == "always"
