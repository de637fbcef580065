"""POST /v1/assessment/submit and /v1/assessment/read (DESIGN.md §4, §4.1 "Assessments")."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from tests.conftest import Api, error_of
from tests.modes.scenario import set_mode
from viewer import events, timeutil
from viewer.identifiers import ConsumptionKey

pytestmark = pytest.mark.usefixtures("maths_catalogue")

SCOPE = {"userId": "u1", "collectionId": "class-1-maths", "contextId": "batch-1"}
T = 1785578400000  # 2026-08-01T10:00:00Z


def event(qid: str, score: float, maxscore: float = 1, *, ets: int = T, **edata: Any) -> dict:
    item = {"id": qid, "maxscore": maxscore, **edata.pop("item", {})}
    return {"eid": "ASSESS", "ets": ets, "edata": {"item": item, "score": score, **edata}}


def body(attempt_id: str = "a1", *, ts: int = T, content: str = "SDA", **extra: Any) -> dict:
    request = {
        **SCOPE,
        "contentId": content,
        "attemptId": attempt_id,
        "assessmentTs": ts,
        "events": [event("q1", 1), event("q2", 1), event("q3", 0)],
    }
    request.update(extra)
    return request


def now_ms() -> int:
    return int(timeutil.to_ms(timeutil.now()) or 0)


def read(api: Api, **extra: Any) -> dict[str, Any]:
    return api.ok("POST", "/v1/assessment/read", {**SCOPE, **extra})


def test_assessment_submit_answers_score_updated(api: Api) -> None:
    assert api.ok("POST", "/v1/assessment/submit", body()) == {"SDA": "Score updated"}


def test_assessment_read_shape(api: Api) -> None:
    events_ = [
        event(
            "q1",
            0,
            item={"title": "Two plus two", "type": "mcq", "params": [{"1": {"text": "4"}}]},
            resvalues=[{"1": "4"}],
            duration=12.5,
            ets=T - 2000,
        ),
        event("q2", 0.33, ets=T - 1000),
        event("q1", 1, item={"title": "Two plus two", "type": "mcq"}, ets=T - 500),
    ]
    api.ok("POST", "/v1/assessment/submit", body(events=events_))
    result = read(api)
    [attempt] = result["attempts"]
    assert isinstance(attempt.pop("createdOn"), int)
    assert isinstance(attempt.pop("lastUpdatedOn"), int)
    assert attempt == {
        "contentId": "SDA",
        "attemptId": "a1",
        "assessmentTs": T,
        "totalScore": 1.33,
        "totalMaxScore": 2.0,
        "grandTotal": "1.33/2.0",
        "questions": [
            {
                "id": "q1",
                "maxScore": 1.0,
                "score": 1.0,
                "title": "Two plus two",
                "type": "mcq",
                "description": None,
                "params": [],
                "resvalues": [],
                "duration": None,
                "assessTs": T - 500,
            },
            {
                "id": "q2",
                "maxScore": 1.0,
                "score": 0.33,
                "title": None,
                "type": None,
                "description": None,
                "params": [],
                "resvalues": [],
                "duration": None,
                "assessTs": T - 1000,
            },
        ],
    }
    assert result["best"] == {
        "SDA": {"score": 1.33, "max_score": 2.0, "attemptId": "a1", "attempts_count": 1}
    }


def test_assessment_keeps_answer_details(api: Api) -> None:
    answer = event(
        "q1",
        1,
        item={
            "title": "Two plus two",
            "type": "mcq",
            "desc": "Pick one",
            "params": [{"1": {"text": "4"}}, {"answer": '{"correct":["1"]}'}],
        },
        resvalues=[{"1": {"text": "4"}}, {"n": 3}],
        duration=12.5,
    )
    api.ok("POST", "/v1/assessment/submit", body(events=[answer]))
    [question] = read(api)["attempts"][0]["questions"]
    # Values that are not strings are kept as their JSON text (the question type's maps).
    assert question["params"] == [{"1": '{"text":"4"}'}, {"answer": '{"correct":["1"]}'}]
    assert question["resvalues"] == [{"1": '{"text":"4"}'}, {"n": "3"}]
    assert (question["description"], question["duration"], question["assessTs"]) == (
        "Pick one",
        12.5,
        T,
    )


def test_assessment_optional_answer_fields_may_be_null(api: Api) -> None:
    item = {"title": None, "type": None, "desc": None, "params": None}
    answer = event("q1", 1, item=item, resvalues=None, duration=None)
    api.ok("POST", "/v1/assessment/submit", body(events=[answer]))
    [question] = read(api)["attempts"][0]["questions"]
    assert [question[k] for k in ("title", "type", "description", "params", "resvalues")] == [
        None,
        None,
        None,
        [],
        [],
    ]


def test_assessment_duplicated_question_keeps_the_latest_answer(api: Api) -> None:
    events_ = [event("q1", 0, ets=T - 10), event("q2", 1), event("q1", 1, ets=T - 5)]
    api.ok("POST", "/v1/assessment/submit", body(events=events_))
    [attempt] = read(api)["attempts"]
    assert (attempt["grandTotal"], [q["id"] for q in attempt["questions"]]) == (
        "2.0/2.0",
        ["q1", "q2"],
    )


def test_assessment_best_score_over_attempts(api: Api) -> None:
    api.ok("POST", "/v1/assessment/submit", body("a1", ts=T))
    api.ok(
        "POST",
        "/v1/assessment/submit",
        body("a2", ts=T + 60_000, events=[event("q1", 1), event("q2", 0.33), event("q3", 0)]),
    )
    result = read(api)
    assert [(a["attemptId"], a["grandTotal"]) for a in result["attempts"]] == [
        ("a1", "2.0/3.0"),
        ("a2", "1.33/3.0"),
    ]
    assert result["best"] == {
        "SDA": {"score": 2.0, "max_score": 3.0, "attemptId": "a1", "attempts_count": 2}
    }


def test_assessment_best_keeps_its_own_max_score(api: Api) -> None:
    api.ok("POST", "/v1/assessment/submit", body("a1", ts=T, events=[event("q1", 10, maxscore=10)]))
    api.ok(
        "POST",
        "/v1/assessment/submit",
        body("a2", ts=T + 1, events=[event("q1", 4, maxscore=5)]),
    )
    assert read(api)["best"]["SDA"] == {
        "score": 10.0,
        "max_score": 10.0,
        "attemptId": "a1",
        "attempts_count": 2,
    }


def test_assessment_read_per_content_and_filtered(api: Api) -> None:
    api.ok("POST", "/v1/assessment/submit", body("a1", content="DDA"))
    api.ok("POST", "/v1/assessment/submit", body("a2", content="SDA", ts=T - 1))
    api.ok("POST", "/v1/assessment/submit", body("a1", content="SDA", ts=T))
    result = read(api)
    assert [(a["contentId"], a["attemptId"]) for a in result["attempts"]] == [
        ("DDA", "a1"),
        ("SDA", "a2"),
        ("SDA", "a1"),
    ]
    assert sorted(result["best"]) == ["DDA", "SDA"]
    # Equal scores: the earlier attempt is the best.
    assert result["best"]["SDA"]["attemptId"] == "a2"
    only = read(api, contentId="DDA")
    assert [a["contentId"] for a in only["attempts"]] == ["DDA"]
    assert list(only["best"]) == ["DDA"]


def test_assessment_read_without_attempts(api: Api) -> None:
    assert read(api) == {"attempts": [], "best": {}}
    assert read(api, contentId="SDA") == {"attempts": [], "best": {}}
    api.ok("POST", "/v1/assessment/submit", body())
    # Another context, another user: nothing.
    assert read(api, contextId="batch-2") == {"attempts": [], "best": {}}
    assert read(api, userId="u2") == {"attempts": [], "best": {}}


@pytest.mark.parametrize("delta", [0, -1, -86_400_000])
def test_assessment_equal_or_older_replay_changes_nothing(api: Api, delta: int) -> None:
    api.ok("POST", "/v1/assessment/submit", body())
    before = read(api)
    replay = body(ts=T + delta, events=[event("q1", 0)])
    assert api.ok("POST", "/v1/assessment/submit", replay) == {"SDA": "Score updated"}
    assert read(api) == before


def test_assessment_newer_submission_replaces_keeping_created_on(api: Api) -> None:
    api.ok("POST", "/v1/assessment/submit", body())
    [before] = read(api)["attempts"]
    api.ok("POST", "/v1/assessment/submit", body(ts=T + 1, events=[event("q1", 0, maxscore=4)]))
    [after] = read(api)["attempts"]
    assert (after["assessmentTs"], after["grandTotal"], len(after["questions"])) == (
        T + 1,
        "0.0/4.0",
        1,
    )
    assert after["createdOn"] == before["createdOn"]
    assert after["lastUpdatedOn"] >= before["lastUpdatedOn"]


@pytest.fixture
def announced() -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        calls.append({k: v for k, v in kwargs.items() if k != "signal"})

    events.attempt_recorded.connect(receiver, dispatch_uid="tests.assessments.announced")
    yield calls
    events.attempt_recorded.disconnect(dispatch_uid="tests.assessments.announced")


def test_assessment_submit_announces_the_attempt(api: Api, announced: list[dict[str, Any]]) -> None:
    api.ok("POST", "/v1/assessment/submit", body())
    expected = {
        "sender": None,
        "key": ConsumptionKey("u1", "class-1-maths", "batch-1", "SDA"),
        "assessment_ts": timeutil.from_ms(T),
    }
    assert announced == [expected]
    # A replay is announced too: marking complete is idempotent, and a retry heals a
    # submission whose announcement was lost.
    api.ok("POST", "/v1/assessment/submit", body())
    assert announced == [expected, expected]


def test_assessment_error_announces_nothing(api: Api, announced: list[dict[str, Any]]) -> None:
    error_of(api.post("/v1/assessment/submit", body(content="nope")))
    assert announced == []


@pytest.fixture
def marks_complete() -> Iterator[None]:
    """What summaries' receiver is to do: mark the content complete at the attempt's time."""
    from consumption.services import view_end, view_start
    from viewer.identifiers import ViewTarget

    def receiver(*, key: ConsumptionKey, assessment_ts: Any, **kwargs: Any) -> None:
        target = ViewTarget(key.user_id, key.content_id, key.collection_id, key.context_id)
        view_start(target=target, ts=assessment_ts)
        view_end(target=target, ts=assessment_ts)

    events.attempt_recorded.connect(receiver, dispatch_uid="tests.assessments.complete")
    yield
    events.attempt_recorded.disconnect(dispatch_uid="tests.assessments.complete")


@pytest.mark.usefixtures("marks_complete")
def test_assessment_submit_marks_the_content_complete_through_the_hook(api: Api) -> None:
    api.ok("POST", "/v1/assessment/submit", body())
    [row] = api.ok("POST", "/v1/view/read", {**SCOPE, "contentId": "SDA"})["contents"]
    assert (row["status"], row["progress"], row["lastCompletedTime"]) == (2, 100, T)


def test_assessment_follows_the_mode_key(api: Api) -> None:
    set_mode("content")
    api.ok("POST", "/v1/assessment/submit", body())
    # content mode: one key per content, whatever the collection or context.
    assert len(read(api)["attempts"]) == 1
    assert len(read(api, contentId="SDA")["attempts"]) == 1
    assert len(read(api, contextId="batch-2")["attempts"]) == 1
    other = {"collectionId": "class-2-maths", "contextId": "batch-1-c2"}
    assert [a["contentId"] for a in read(api, **other)["attempts"]] == ["SDA"]
    set_mode("strict")
    assert read(api) == {"attempts": [], "best": {}}


# --- validation ------------------------------------------------------------------------------


def _error(api: Api, request: Any) -> tuple[int, str, str]:
    return error_of(api.post("/v1/assessment/submit", request))


def _with_event(**changes: Any) -> dict[str, Any]:
    """A body whose first event is changed: keys are paths such as "edata.item.id"; None
    removes the field."""
    request = body()
    target = request["events"][0]
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = target
        for parent in parents:
            node = node[parent]
        if value is None:
            node.pop(leaf)
        else:
            node[leaf] = value
    return request


@pytest.mark.parametrize(
    ("request_body", "code", "message"),
    [
        (
            body(events=[]),
            "MANDATORY_PARAMETER_MISSING",
            "request.events: Must list at least one ASSESS event.",
        ),
        (
            {k: v for k, v in body().items() if k != "events"},
            "MANDATORY_PARAMETER_MISSING",
            "request.events: This field is required.",
        ),
        (body(events="x"), "INVALID_PARAMETER", "request.events: "),
        (body(events=["x"]), "INVALID_PARAMETER", "request.events[0]: "),
        (
            _with_event(eid="START"),
            "INVALID_PARAMETER",
            'request.events[0].eid: Must be "ASSESS".',
        ),
        (
            _with_event(**{"edata.item.id": None}),
            "MANDATORY_PARAMETER_MISSING",
            "request.events[0].edata.item.id: This field is required.",
        ),
        (
            _with_event(**{"edata.item.id": ""}),
            "MANDATORY_PARAMETER_MISSING",
            "request.events[0].edata.item.id: Must not be empty.",
        ),
        (
            _with_event(**{"edata.item.maxscore": None}),
            "MANDATORY_PARAMETER_MISSING",
            "request.events[0].edata.item.maxscore: This field is required.",
        ),
        (
            _with_event(**{"edata.score": -1}),
            "INVALID_PARAMETER",
            "request.events[0].edata.score: Must be between 0 and 1000000.",
        ),
        (
            _with_event(**{"edata.score": 2}),
            "INVALID_PARAMETER",
            "request.events[0].edata.score: Must not exceed item.maxscore (1).",
        ),
        (
            _with_event(**{"edata.score": 1.5, "edata.item.maxscore": 1.25}),
            "INVALID_PARAMETER",
            "request.events[0].edata.score: Must not exceed item.maxscore (1.25).",
        ),
        (
            _with_event(**{"edata.item.maxscore": -1}),
            "INVALID_PARAMETER",
            "request.events[0].edata.item.maxscore: Must be between 0 and 1000000.",
        ),
        (
            _with_event(**{"edata.score": "1"}),
            "INVALID_PARAMETER",
            "request.events[0].edata.score: Must be a number.",
        ),
        (
            _with_event(**{"edata.score": True}),
            "INVALID_PARAMETER",
            "request.events[0].edata.score: Must be a number.",
        ),
        (
            _with_event(**{"edata.duration": -3}),
            "INVALID_PARAMETER",
            "request.events[0].edata.duration: Must be between 0",
        ),
        (
            _with_event(**{"edata.item.params": {"1": "a"}}),
            "INVALID_PARAMETER",
            "request.events[0].edata.item.params: Must be a list of JSON objects.",
        ),
        (
            _with_event(**{"edata.resvalues": ["a"]}),
            "INVALID_PARAMETER",
            "request.events[0].edata.resvalues: Must be a list of JSON objects.",
        ),
        (
            _with_event(**{"edata.item.title": 5}),
            "INVALID_PARAMETER",
            "request.events[0].edata.item.title: Must be a string.",
        ),
        (
            _with_event(ets="1785578400000"),
            "INVALID_PARAMETER",
            "request.events[0].ets: Must be an integer (epoch milliseconds).",
        ),
        (
            _with_event(ets=None),
            "MANDATORY_PARAMETER_MISSING",
            "request.events[0].ets: This field is required.",
        ),
        (
            _with_event(edata=None),
            "MANDATORY_PARAMETER_MISSING",
            "request.events[0].edata: This field is required.",
        ),
        (
            _with_event(**{"edata.item": "q1"}),
            "INVALID_PARAMETER",
            "request.events[0].edata.item: ",
        ),
        (
            _with_event(extra=1),
            "INVALID_PARAMETER",
            "request.events[0].extra: Unknown field.",
        ),
        (
            _with_event(**{"edata.extra": 1}),
            "INVALID_PARAMETER",
            "request.events[0].edata.extra: Unknown field.",
        ),
        (
            _with_event(**{"edata.item.extra": 1}),
            "INVALID_PARAMETER",
            "request.events[0].edata.item.extra: Unknown field.",
        ),
        (body(extra=1), "INVALID_PARAMETER", "request.extra: Unknown field."),
        (
            {k: v for k, v in body().items() if k != "contextId"},
            "MANDATORY_PARAMETER_MISSING",
            "request.contextId: This field is required.",
        ),
        (
            {k: v for k, v in body().items() if k != "collectionId"},
            "MANDATORY_PARAMETER_MISSING",
            "request.collectionId: This field is required.",
        ),
        (
            {k: v for k, v in body().items() if k != "attemptId"},
            "MANDATORY_PARAMETER_MISSING",
            "request.attemptId: This field is required.",
        ),
        (
            {k: v for k, v in body().items() if k != "assessmentTs"},
            "MANDATORY_PARAMETER_MISSING",
            "request.assessmentTs: This field is required.",
        ),
        (
            body(assessmentTs=-1),
            "INVALID_PARAMETER",
            "request.assessmentTs: Must not be negative.",
        ),
        (body(attemptId="x" * 257), "INVALID_PARAMETER", "request.attemptId: Must be at most 256"),
    ],
)
def test_assessment_submit_rejects(
    api: Api, request_body: Any, code: str, message: str, announced: list[dict[str, Any]]
) -> None:
    status, err, errmsg = _error(api, request_body)
    assert (status, err) == (400, code), errmsg
    assert errmsg.startswith(message), errmsg
    assert read(api) == {"attempts": [], "best": {}}
    assert announced == []


def test_assessment_submit_names_the_failing_event(api: Api) -> None:
    request = body(events=[event("q1", 1), event("q2", 5), {"eid": "ASSESS"}])
    status, err, errmsg = _error(api, request)
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert errmsg == (
        "request.events[1].edata.score: Must not exceed item.maxscore (1).; "
        "request.events[2].ets: This field is required.; "
        "request.events[2].edata: This field is required."
    )


@pytest.mark.parametrize("field", ["assessmentTs", "ets"])
def test_assessment_submit_rejects_future_times(api: Api, field: str) -> None:
    future = now_ms() + 10 * 60 * 1000
    request = body(assessmentTs=future) if field == "assessmentTs" else _with_event(ets=future)
    path = "request.assessmentTs" if field == "assessmentTs" else "request.events[0].ets"
    status, err, errmsg = _error(api, request)
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert errmsg == f"{path}: Lies more than 300 seconds in the future."


def test_assessment_submit_accepts_a_time_within_the_skew(api: Api) -> None:
    soon = now_ms() + 60 * 1000
    api.ok(
        "POST", "/v1/assessment/submit", body(assessmentTs=soon, events=[event("q", 1, ets=soon)])
    )


def test_assessment_submit_refuses_an_infinite_score(api: Api) -> None:
    raw = (
        '{"request": {"userId": "u1", "contentId": "SDA", "collectionId": "class-1-maths", '
        '"contextId": "batch-1", "attemptId": "a1", "assessmentTs": 1785578400000, "events": '
        '[{"eid": "ASSESS", "ets": 1785578400000, "edata": {"item": {"id": "q1", "maxscore": '
        '1e400}, "score": 1e400}}]}}'
    )
    status, err, errmsg = error_of(api.post("/v1/assessment/submit", body=raw))
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert "request.events[0].edata.item.maxscore: Must be between 0 and 1000000." in errmsg


def test_assessment_submit_accepts_telemetry_fields(api: Api) -> None:
    """A player's ASSESS event as emitted (telemetry v3) is accepted; the extra fields are
    ignored."""
    player_event = {
        "eid": "ASSESS",
        "ets": T,
        "ver": "3.0",
        "mid": "ASSESS:1",
        "actor": {"id": "u1", "type": "User"},
        "context": {"channel": "in.ekstep", "env": "contentplayer", "cdata": []},
        "object": {"id": "SDA", "type": "Content", "ver": "1"},
        "tags": [],
        "edata": {
            "item": {
                "id": "q1",
                "maxscore": 1,
                "exlength": 0,
                "params": [],
                "uri": "",
                "title": "Q",
                "mmc": [],
                "mc": [],
                "desc": "",
            },
            "index": 1,
            "pass": "Yes",
            "score": 1,
            "resvalues": [{"1": '{"text":"4"}'}],
            "duration": 3,
        },
    }
    api.ok("POST", "/v1/assessment/submit", body(events=[player_event]))
    [question] = read(api)["attempts"][0]["questions"]
    assert (question["title"], question["description"], question["score"]) == ("Q", "", 1.0)


def test_assessment_submit_bounds_the_number_of_events(api: Api) -> None:
    with override_settings(VIEWER_MAX_BODY_BYTES=1 << 20, DATA_UPLOAD_MAX_MEMORY_SIZE=1 << 20):
        status, err, errmsg = _error(api, body(events=[event("q", 1)] * 1001))
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert errmsg == "request.events: Ensure this field has no more than 1000 elements."


def test_assessment_submit_unknown_collection(api: Api) -> None:
    status, err, errmsg = _error(api, body(collectionId="nope"))
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert errmsg == "request.collectionId: No collection 'nope' in the catalogue."


@pytest.mark.parametrize("content", ["nope", "class-1-maths"])
def test_assessment_submit_content_not_a_leaf(api: Api, content: str) -> None:
    status, err, errmsg = _error(api, body(content=content))
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert errmsg == (
        f"request.contentId: '{content}' is not a content of collection 'class-1-maths'."
    )


def test_assessment_submit_content_of_a_unit(api: Api) -> None:
    api.ok(
        "PUT",
        "/v1/collection/course",
        {
            "name": "Course",
            "children": [{"identifier": "unit-1", "children": [{"identifier": "quiz"}]}],
        },
    )
    request = body(collectionId="course", content="quiz")
    assert api.ok("POST", "/v1/assessment/submit", request) == {"quiz": "Score updated"}
    status, err, _ = _error(api, body(collectionId="course", content="unit-1"))
    assert (status, err) == (400, "INVALID_PARAMETER")


@pytest.mark.parametrize(
    ("request_body", "code", "message"),
    [
        (
            {"userId": "u1", "collectionId": "class-1-maths"},
            "MANDATORY_PARAMETER_MISSING",
            "request.contextId: This field is required.",
        ),
        (
            {"userId": "u1", "contextId": "batch-1"},
            "MANDATORY_PARAMETER_MISSING",
            "request.collectionId: This field is required.",
        ),
        ({**SCOPE, "contentId": 5}, "INVALID_PARAMETER", "request.contentId: Must be a string."),
        ({**SCOPE, "extra": 1}, "INVALID_PARAMETER", "request.extra: Unknown field."),
    ],
)
def test_assessment_read_rejects(
    api: Api, request_body: dict[str, Any], code: str, message: str
) -> None:
    status, err, errmsg = error_of(api.post("/v1/assessment/read", request_body))
    assert (status, err, errmsg) == (400, code, message)


def test_assessment_envelope_ids(api: Api) -> None:
    _, submitted = api.post("/v1/assessment/submit", body())
    _, read_back = api.post("/v1/assessment/read", SCOPE)
    assert (submitted["id"], read_back["id"]) == ("api.assessment.submit", "api.assessment.read")
