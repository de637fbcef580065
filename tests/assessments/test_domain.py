"""The score rules of an attempt and the best attempt (notes/sunbird-reference.md §5.3, §8 E)."""

from datetime import UTC, datetime, timedelta

import pytest

from assessments.domain import (
    Attempt,
    Question,
    attempt_from_answers,
    best_of,
    format_score,
    grand_total,
    latest_per_question,
)
from viewer.identifiers import ConsumptionKey

T0 = datetime(2026, 8, 1, 10, 0, tzinfo=UTC)
KEY = ConsumptionKey("u1", "C1", "B1", "q")


def answer(qid: str, score: float, max_score: float = 1.0, *, at: int = 0) -> Question:
    return Question(id=qid, max_score=max_score, score=score, assess_ts=T0 + timedelta(seconds=at))


def attempt(attempt_id: str, score: float, max_score: float, *, at: int, content: str = "q"):
    return Attempt(
        key=ConsumptionKey("u1", "C1", "B1", content),
        attempt_id=attempt_id,
        assessment_ts=T0 + timedelta(minutes=at),
        questions=(),
        total_score=score,
        total_max_score=max_score,
        grand_total=grand_total(score, max_score),
    )


@pytest.mark.parametrize(
    ("score", "max_score", "expected"),
    [
        (2.0, 3.0, "2.0/3.0"),
        (1.33, 3.0, "1.33/3.0"),
        (10.0, 10.0, "10.0/10.0"),
        (1.33, 2.0, "1.33/2.0"),
        (0.0, 0.0, "0.0/0.0"),
        (1.5, 2.0, "1.5/2.0"),
        (1 / 3, 1.0, "0.33/1.0"),
        (2 / 3, 1.0, "0.67/1.0"),
        # Half-even on the double's exact value, as Java's DecimalFormat rounds.
        (0.125, 1.0, "0.12/1.0"),
        (0.375, 1.0, "0.38/1.0"),
        (2.675, 3.0, "2.67/3.0"),  # 2.67499999... as a double
        (0.1 + 0.2, 1.0, "0.3/1.0"),
        (123456.999, 123457.0, "123457.0/123457.0"),
    ],
)
def test_grand_total_formats_like_java_decimal_format(
    score: float, max_score: float, expected: str
) -> None:
    assert grand_total(score, max_score) == expected


def test_format_score_of_a_large_double() -> None:
    assert format_score(1e20) == "100000000000000000000.0"


def test_attempt_keeps_the_latest_answer_per_question() -> None:
    """Sunbird E44: q1 answered twice (0, then 1), q2 once (0.33 of 1) -> 1.33/2.0."""
    scored = attempt_from_answers(
        key=KEY,
        attempt_id="a1",
        assessment_ts=T0,
        answers=[answer("q1", 0, at=1), answer("q2", 0.33, at=1), answer("q1", 1, at=2)],
    )
    assert [(q.id, q.score) for q in scored.questions] == [("q1", 1.0), ("q2", 0.33)]
    assert (scored.total_score, scored.total_max_score, scored.grand_total) == (
        1.33,
        2.0,
        "1.33/2.0",
    )


def test_attempt_with_a_duplicated_question_counts_it_once() -> None:
    scored = attempt_from_answers(
        key=KEY,
        attempt_id="a1",
        assessment_ts=T0,
        answers=[answer("q1", 0, at=1), answer("q1", 1, at=5), answer("q2", 1, at=3)],
    )
    assert scored.grand_total == "2.0/2.0"
    assert len(scored.questions) == 2


@pytest.mark.parametrize(
    ("answers", "kept"),
    [
        # The latest by time wins wherever it sits in the list.
        ([answer("q1", 1, at=9), answer("q1", 0, at=1)], 1.0),
        ([answer("q1", 0, at=1), answer("q1", 1, at=9)], 1.0),
        # The same time: the later in the list wins.
        ([answer("q1", 0, at=5), answer("q1", 1, at=5)], 1.0),
        ([answer("q1", 1, at=5), answer("q1", 0, at=5)], 0.0),
    ],
)
def test_latest_per_question_order(answers: list[Question], kept: float) -> None:
    [question] = latest_per_question(answers)
    assert question.score == kept


def test_latest_per_question_keeps_first_appearance_order() -> None:
    answers = [answer("q2", 1, at=1), answer("q1", 1, at=2), answer("q2", 0, at=3)]
    assert [q.id for q in latest_per_question(answers)] == ["q2", "q1"]


def test_best_of_two_attempts() -> None:
    """Sunbird E47: 2.0/3.0 and 1.33/3.0 -> score 2.0, max 3.0, 2 attempts."""
    best = best_of([attempt("a1", 2.0, 3.0, at=1), attempt("a2", 1.33, 3.0, at=2)])
    assert set(best) == {"q"}
    assert (best["q"].score, best["q"].max_score, best["q"].attempts_count) == (2.0, 3.0, 2)
    assert best["q"].attempt_id == "a1"


def test_best_of_keeps_the_best_attempts_own_max_score() -> None:
    """Sunbird E48: 5/10 then 4/5 -> score 5, max score 10 (not the latest attempt's 5)."""
    best = best_of([attempt("a1", 5.0, 10.0, at=1), attempt("a2", 4.0, 5.0, at=2)])["q"]
    assert (best.score, best.max_score, best.attempt_id) == (5.0, 10.0, "a1")
    best = best_of([attempt("a1", 10.0, 10.0, at=1), attempt("a2", 4.0, 5.0, at=2)])["q"]
    assert (best.score, best.max_score) == (10.0, 10.0)


def test_best_of_a_tie_is_the_earlier_attempt() -> None:
    later, earlier = attempt("a1", 3.0, 5.0, at=9), attempt("z9", 3.0, 4.0, at=1)
    best = best_of([later, earlier])["q"]
    assert (best.attempt_id, best.max_score) == ("z9", 4.0)


def test_best_of_is_per_content() -> None:
    best = best_of(
        [
            attempt("a1", 1.0, 2.0, at=1, content="x"),
            attempt("a2", 2.0, 2.0, at=2, content="y"),
            attempt("a3", 0.0, 2.0, at=3, content="x"),
        ]
    )
    assert {cid: (b.score, b.attempts_count) for cid, b in best.items()} == {
        "x": (1.0, 2),
        "y": (2.0, 1),
    }
    assert best_of([]) == {}
