"""The course service's APIs: the request examples of notes/sunbird-reference.md §3 and the
acceptance catalogue §8 A-C replayed, whole responses compared (ts, resmsgid and msgid aside),
errors by code. Runs on the store VIEWER_STORE selects (make test runs both)."""

import copy
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.core.cache import cache
from django.test import override_settings

from tests.conftest import Api
from viewer import timeutil

COURSE, BATCH, USER = "do_course", "0130", "user-1"
T = "2020-11-23 12:58:35:179+0000"
UPDATE, READ = "/v1/content/state/update", "/v1/content/state/read"

# notes/sunbird-reference.md §3.2, as given.
UPDATE_EXAMPLE: dict[str, Any] = {
    "request": {
        "userId": "user-1",
        "contents": [
            {
                "contentId": "do_1",
                "batchId": "0130",
                "courseId": "do_course",
                "status": 2,
                "progress": 100,
                "lastAccessTime": "2020-11-23 12:58:35:179+0000",
                "lastCompletedTime": "2020-11-23 12:58:35:179+0000",
                "progressdetails": {"mimeType": "video/mp4", "current": 120, "max": 120},
            }
        ],
        "assessments": [
            {
                "contentId": "do_q",
                "batchId": "0130",
                "courseId": "do_course",
                "userId": "user-1",
                "attemptId": "8cd87e24df268ad09a8b0060c0a40271",
                "assessmentTs": 1567591211000,
                "events": [
                    {
                        "eid": "ASSESS",
                        "ets": 1568891735461,
                        "edata": {
                            "item": {"id": "q1", "maxscore": 1},
                            "score": 1,
                            "resvalues": [],
                            "duration": 2,
                        },
                    }
                ],
            }
        ],
    }
}
# §3.3, as given.
READ_EXAMPLE = {
    "request": {
        "userId": "user-1",
        "courseId": "do_course",
        "batchId": "0130",
        "contentIds": ["do_1"],
        "fields": ["progress", "score"],
    }
}


def envelope(api_id: str, result: Any) -> dict[str, Any]:
    return {
        "id": api_id,
        "ver": "v1",
        "params": {"err": None, "status": "success", "errmsg": None},
        "responseCode": "OK",
        "result": result,
    }


def failure(api_id: str, code: str, message: str) -> dict[str, Any]:
    return {
        "id": api_id,
        "ver": "v1",
        "params": {"err": code, "status": "failed", "errmsg": message},
        "responseCode": "CLIENT_ERROR",
        "result": {},
    }


def whole(answer: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """The answer without what differs per call (ts, resmsgid, msgid)."""
    status, body = answer
    body = copy.deepcopy(body)
    body.pop("ts")
    for key in ("resmsgid", "msgid"):
        body["params"].pop(key)
    return status, body


def update(api: Api, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return whole(api.call("PATCH", UPDATE, {"userId": USER, **request}))


def read(api: Api, **request: Any) -> list[dict[str, Any]]:
    body = {"userId": USER, "courseId": COURSE, "batchId": BATCH, **request}
    status, body = whole(api.call("POST", READ, {k: v for k, v in body.items() if v is not None}))
    assert status == 200, body
    return body["result"]["contentList"]


def content(content_id: str, **state: Any) -> dict[str, Any]:
    """A legacy contentList item with the given state (defaults: in progress, no times)."""
    status = state.get("status", 1)
    return {
        "contentId": content_id,
        "courseId": COURSE,
        "collectionId": COURSE,
        "batchId": BATCH,
        "status": status,
        "progress": state.get("progress", 100 if status == 2 else 0),
        "viewCount": 1,
        "completedCount": 1 if status == 2 else 0,
        "lastAccessTime": state.get("lastAccessTime"),
        "lastCompletedTime": state.get("lastCompletedTime"),
        "progressdetails": state.get("progressdetails"),
        **({"score": state["score"]} if "score" in state else {}),
    }


def item(content_id: str, status: int, **fields: Any) -> dict[str, Any]:
    return {
        "contentId": content_id,
        "courseId": COURSE,
        "batchId": BATCH,
        "status": status,
        **fields,
    }


@pytest.fixture
def course(api: Api) -> None:
    """Course do_course (do_1, do_2, a unit with do_q, an optional do_opt), batch 0130 ongoing
    since 2020, batch b-ended (2020), batch b-future (starts next year)."""
    api.ok(
        "PUT",
        f"/v1/collection/{COURSE}",
        {
            "name": "Course",
            "description": "A course",
            "logo": "https://example.org/logo.png",
            "children": [
                {"identifier": "do_1"},
                {"identifier": "do_2"},
                {"identifier": "unit-1", "children": [{"identifier": "do_q"}]},
                {"identifier": "do_opt", "optional": True},
            ],
        },
    )
    next_year = timeutil.now().year + 1
    for batch, dates in [
        (BATCH, {"startDate": "2020-01-01"}),
        ("b-ended", {"startDate": "2020-01-01", "endDate": "2020-12-31"}),
        ("b-future", {"startDate": f"{next_year}-01-01"}),
    ]:
        api.ok(
            "PUT",
            f"/v1/context/{batch}",
            {"type": "batch", "name": f"Batch {batch}", "collectionIds": [COURSE], **dates},
        )


# --- A. Content state update ---------------------------------------------------------------


@pytest.mark.usefixtures("course")
def test_legacy_update_replays_the_course_service_example(api: Api) -> None:
    assert whole(api.call("PATCH", UPDATE, body=UPDATE_EXAMPLE)) == (
        200,
        envelope(
            "api.content.state.update", {"do_1": "SUCCESS", "0130": "SUCCESS", "do_q": "SUCCESS"}
        ),
    )
    status, body = whole(api.call("POST", READ, body=READ_EXAMPLE))
    assert (status, body) == (
        200,
        envelope(
            "api.content.state.read",
            {
                "contentList": [
                    content(
                        "do_1",
                        status=2,
                        lastAccessTime=T,
                        lastCompletedTime=T,
                        progressdetails={"mimeType": "video/mp4", "current": 120, "max": 120},
                        score=[],
                    )
                ]
            },
        ),
    )
    # The assessment completed its content (A15), and its attempt is listed (B23).
    assessed = "2019-09-04 10:00:11:000+0000"
    assert read(api, contentIds=["do_q"], fields=["score"]) == [
        content(
            "do_q",
            status=2,
            lastAccessTime=assessed,
            lastCompletedTime=assessed,
            score=[
                {
                    "attempt_id": "8cd87e24df268ad09a8b0060c0a40271",
                    "last_attempted_on": 1567591211000,
                    "total_max_score": 1.0,
                    "total_score": 1.0,
                }
            ],
        )
    ]
    assert "score" not in read(api)[0]


@pytest.mark.usefixtures("course")
def test_legacy_update_progress_only_rises_and_completion_is_final(api: Api) -> None:
    ok = (200, envelope("api.content.state.update", {"do_1": "SUCCESS"}))
    # A2: in progress keeps the client's progress (the course service stored 0), then the max.
    assert update(api, {"contents": [item("do_1", 1, progress=40, lastAccessTime=T)]}) == ok
    assert read(api) == [content("do_1", progress=40, lastAccessTime=T, progressdetails={})]
    update(api, {"contents": [item("do_1", 1, progress=60, progressdetails={"current": 6})]})
    update(api, {"contents": [item("do_1", 1, progress=30)]})  # A4: max(60, 30)
    assert read(api)[0]["progress"] == 60
    assert read(api)[0]["progressdetails"] == {"current": 6}  # kept when not sent
    # A5: completion time from the client; a later completion with an earlier time keeps it.
    later = "2020-11-24 08:00:00:000+0000"
    update(api, {"contents": [item("do_1", 2, lastCompletedTime=later)]})
    update(api, {"contents": [item("do_1", 2, lastCompletedTime=T)]})
    completed = read(api)
    assert completed == [
        content(
            "do_1",
            status=2,
            lastAccessTime=completed[0]["lastAccessTime"],  # the updates without one: now
            lastCompletedTime=later,
            progressdetails={"current": 6},
        )
    ]
    # A3: no regression; a revisit of a completed content changes nothing (decided: not even
    # its last access, as the view APIs).
    update(api, {"contents": [item("do_1", 1, progress=10, lastAccessTime=T)]})
    assert read(api) == completed
    # A6: a status above 2 is a completion.
    update(api, {"contents": [item("do_2", 3)]})
    assert read(api, contentIds=["do_2"])[0]["status"] == 2


@pytest.mark.usefixtures("course")
def test_legacy_update_reports_batches_that_are_not_ongoing(api: Api) -> None:
    # A7-A9: per batch, in one request; nothing is written for them.
    answer = update(
        api,
        {
            "contents": [
                item("do_1", 2),
                {**item("do_2", 2), "batchId": "b-ended"},
                {**item("do_2", 2), "batchId": "b-future"},
                {**item("do_2", 2), "batchId": "b-unknown"},
            ]
        },
    )
    assert answer == (
        200,
        envelope(
            "api.content.state.update",
            {
                "do_1": "SUCCESS",
                "NOT_A_ON_GOING_BATCH": ["b-ended", "b-future"],
                "BATCH_NOT_EXISTS": ["b-unknown"],
            },
        ),
    )
    for batch in ("b-ended", "b-future", "b-unknown"):
        assert read(api, batchId=batch) == []
    assert [c["contentId"] for c in read(api)] == ["do_1"]


@pytest.mark.usefixtures("course")
def test_legacy_update_of_a_batch_of_another_course_is_unknown(api: Api) -> None:
    api.ok("PUT", "/v1/collection/other", {"name": "Other", "children": [{"identifier": "x"}]})
    api.ok(
        "PUT",
        "/v1/context/b-other",
        {"type": "batch", "collectionIds": ["other"], "startDate": "2020-01-01"},
    )
    assert update(api, {"contents": [{**item("do_1", 2), "batchId": "b-other"}]}) == (
        200,
        envelope("api.content.state.update", {"BATCH_NOT_EXISTS": ["b-other"]}),
    )


@pytest.mark.usefixtures("course")
def test_legacy_update_without_batch_records_the_course_view(api: Api) -> None:
    # A10, decided: recorded in the course alone (the course service dropped it silently).
    no_batch = {"contentId": "do_1", "courseId": COURSE, "status": 2}
    assert update(api, {"contents": [no_batch]}) == (
        200,
        envelope("api.content.state.update", {"do_1": "SUCCESS"}),
    )
    assert read(api) == []  # not in the batch
    contents = api.ok("POST", "/v1/view/read", {"userId": USER, "collectionId": COURSE})
    assert [(c["contentId"], c["status"]) for c in contents["contents"]] == [("do_1", 2)]


@pytest.mark.usefixtures("course")
def test_legacy_update_accepts_collection_id_as_course_id(api: Api) -> None:
    # A12
    alias = {"contentId": "do_1", "collectionId": COURSE, "batchId": BATCH, "status": 1}
    assert update(api, {"contents": [alias]})[0] == 200
    assert [c["contentId"] for c in read(api, collectionId=COURSE, courseId=None)] == ["do_1"]
    clash = {**alias, "courseId": "other"}
    assert update(api, {"contents": [clash]}) == (
        400,
        failure(
            "api.content.state.update",
            "INVALID_PARAMETER",
            "request.contents[0].collectionId: Must equal courseId when both are given.",
        ),
    )


@pytest.mark.usefixtures("course")
def test_legacy_update_reads_offsets_and_writes_utc(api: Api) -> None:
    update(api, {"contents": [item("do_1", 2, lastCompletedTime="2020-11-23 18:28:35:179+0530")]})
    assert read(api)[0]["lastCompletedTime"] == T


CONTENT_ERRORS = [
    # A13: the course service's order: dates, courseId, contentId, status.
    ({"status": 1}, "COURSE_ID_REQUIRED_ERROR", "courseId", "Please provide course id."),
    (
        {"courseId": COURSE, "status": 1},
        "CONTENT_ID_REQUIRED_ERROR",
        "contentId",
        "Please provide content id.",
    ),
    (
        {"courseId": COURSE, "contentId": " ", "status": 1},
        "CONTENT_ID_REQUIRED_ERROR",
        "contentId",
        "Please provide content id.",
    ),
    (
        {"courseId": COURSE, "contentId": "do_1", "status": None},
        "CONTENT_STATUS_MISSING_ERROR",
        "status",
        "content status is required .",
    ),
    (
        {"lastCompletedTime": "2020-01-01"},
        "DATE_FORMAT_ERRROR",
        "lastCompletedTime",
        "Date format error (use yyyy-MM-dd HH:mm:ss:SSSZ).",
    ),
    (
        {"courseId": COURSE, "contentId": "do_1", "status": 1, "lastUpdatedTime": "yesterday"},
        "DATE_FORMAT_ERRROR",
        "lastUpdatedTime",
        "Date format error (use yyyy-MM-dd HH:mm:ss:SSSZ).",
    ),
    (
        {"courseId": COURSE, "contentId": "do_1", "status": 1, "lastAccessTime": 1600000000000},
        "DATE_FORMAT_ERRROR",
        "lastAccessTime",
        "Date format error (use yyyy-MM-dd HH:mm:ss:SSSZ).",
    ),
    # Then the house rules, naming the field.
    (
        {"courseId": COURSE, "contentId": "do_1", "status": "2"},
        "INVALID_PARAMETER",
        "status",
        "Must be an integer.",
    ),
    (
        {"courseId": COURSE, "contentId": "do_1", "status": -1},
        "INVALID_PARAMETER",
        "status",
        "Must not be negative.",
    ),
    (
        {"courseId": COURSE, "contentId": "do_1", "status": 1, "progress": 101},
        "INVALID_PARAMETER",
        "progress",
        "Must be between 0 and 100.",
    ),
    (
        {"courseId": COURSE, "contentId": "do_1", "status": 1, "grade": "A"},
        "INVALID_PARAMETER",
        "grade",
        "Unknown field.",
    ),
    (
        {"courseId": COURSE, "contentId": 7, "status": 1},
        "INVALID_PARAMETER",
        "contentId",
        "Must be a string.",
    ),
    (
        {"courseId": COURSE, "contentId": "do_1", "status": 1, "progressdetails": "{}"},
        "INVALID_PARAMETER",
        "progressdetails",
        "Must be a JSON object.",
    ),
]


@pytest.mark.parametrize(
    ("fields", "code", "field", "message"),
    CONTENT_ERRORS,
    ids=[f"{c[1]}-{c[2]}" for c in CONTENT_ERRORS],
)
def test_legacy_update_refuses_a_bad_content(
    api: Api, fields: dict[str, Any], code: str, field: str, message: str
) -> None:
    good = item("do_1", 1)
    assert update(api, {"contents": [good, fields]}) == (
        400,
        failure("api.content.state.update", code, f"request.contents[1].{field}: {message}"),
    )


def test_legacy_update_refuses_a_future_date(api: Api) -> None:
    future = timeutil.envelope_ts(timeutil.now() + timedelta(hours=1))
    assert update(api, {"contents": [item("do_1", 1, lastAccessTime=future)]}) == (
        400,
        failure(
            "api.content.state.update",
            "INVALID_PARAMETER",
            "request.contents[0].lastAccessTime: Lies more than 300 seconds in the future.",
        ),
    )


ASSESSMENT = UPDATE_EXAMPLE["request"]["assessments"][0]
ASSESSMENT_ERRORS = [
    # A14: the course service's order.
    ("assessmentTs", "ATTEMPTED_DATE_REQUIRED", "Attempted data is required."),
    ("courseId", "COURSE_ID_REQUIRED_ERROR", "Please provide course id."),
    ("contentId", "CONTENT_ID_REQUIRED_ERROR", "Please provide content id."),
    ("batchId", "COURSE_BATCH_ID_MISSING", "Course batch Id required"),
    ("userId", "USERID_MISSING", "UserId is mandatory."),
    ("attemptId", "ATTEMPT_ID_REQUIRED_ERROR", "Please provide attempt id."),
    ("events", "EVENTS_DATA_MISSING", "Events array is mandatory"),
]


@pytest.mark.parametrize(("missing", "code", "message"), ASSESSMENT_ERRORS)
def test_legacy_update_refuses_a_bad_assessment_in_order(
    api: Api, missing: str, code: str, message: str
) -> None:
    # Every field from ``missing`` on is absent: the first one is reported.
    order = [field for field, _, _ in ASSESSMENT_ERRORS]
    bad = {k: v for k, v in ASSESSMENT.items() if k not in order[order.index(missing) :]}
    assert update(api, {"assessments": [bad]}) == (
        400,
        failure("api.content.state.update", code, f"request.assessments[0].{missing}: {message}"),
    )


@pytest.mark.usefixtures("course")
def test_legacy_update_refuses_an_assessment_outside_the_course_and_writes_nothing(
    api: Api,
) -> None:
    outside = {**ASSESSMENT, "contentId": "do_elsewhere"}
    assert update(api, {"contents": [item("do_1", 2)], "assessments": [outside]}) == (
        400,
        failure(
            "api.content.state.update",
            "INVALID_PARAMETER",
            "request.assessments[0].contentId: 'do_elsewhere' is not a content of course "
            "'do_course'.",
        ),
    )
    assert read(api) == []


@pytest.mark.usefixtures("course")
def test_legacy_update_assessment_without_events_completes_the_content(api: Api) -> None:
    # The course service's aggregator recomputed without writing an attempt.
    assert update(api, {"assessments": [{**ASSESSMENT, "events": []}]}) == (
        200,
        envelope("api.content.state.update", {"0130": "SUCCESS", "do_q": "SUCCESS"}),
    )
    [state] = read(api, fields=["score"])
    assert (state["contentId"], state["status"], state["score"]) == ("do_q", 2, [])


@pytest.mark.usefixtures("course")
def test_legacy_update_sync_mode_recomputes_an_enrolment(api: Api) -> None:
    # A17
    sync = {"courseId": COURSE, "batchId": BATCH}
    assert update(api, sync) == (
        400,
        failure(
            "api.content.state.update",
            "INVALID_REQUESTED_DATA",
            "No Enrolment found for userId: user-1, batchId: 0130, courseId: do_course",
        ),
    )
    api.ok("POST", "/v1/enrol", {"userId": USER, "collectionId": COURSE, "contextId": BATCH})
    assert update(api, {"contents": [], **sync}) == (
        200,
        envelope("api.content.state.update", {"response": "SUCCESS"}),
    )
    assert update(api, {"courseId": COURSE}) == (
        400,
        failure(
            "api.content.state.update",
            "COURSE_BATCH_ID_MISSING",
            "request.batchId: Course batch Id required",
        ),
    )
    assert update(api, {})[1]["params"]["err"] == "COURSE_ID_REQUIRED_ERROR"


# --- B. Content state read -----------------------------------------------------------------


@pytest.mark.usefixtures("course")
def test_legacy_read_lists_started_contents_in_order(api: Api) -> None:
    assert read(api) == []  # B20
    start = timeutil.envelope_ts(timeutil.now())
    update(api, {"contents": [item("do_2", 1), item("do_1", 2, lastCompletedTime=T)]})
    accessed = [state["lastAccessTime"] for state in read(api)]  # not sent: now
    assert all(a >= start for a in accessed)
    both = [
        content("do_1", status=2, lastAccessTime=accessed[0], lastCompletedTime=T),
        content("do_2", lastAccessTime=accessed[1]),
    ]
    assert read(api) == both
    assert read(api, contentIds=["do_2", "do_opt"]) == both[1:]  # B21
    assert read(api, courseIds=[COURSE, "c2"], courseId=None) == both  # B22
    assert read(api, collectionId=COURSE, courseId=None) == both


@pytest.mark.parametrize(
    ("request_body", "code", "message"),
    [
        (
            {"courseId": COURSE},
            "MANDATORY_PARAMETER_MISSING",
            "request.batchId: Mandatory parameter batchId is missing.",
        ),
        (
            {"batchId": BATCH},
            "MANDATORY_PARAMETER_MISSING",
            "request.courseId: Mandatory parameter courseId is missing.",
        ),
        (
            {"courseId": COURSE, "batchId": BATCH, "contentIds": "do_1"},
            "INVALID_PARAMETER",
            "request.contentIds: Must be a list.",
        ),
        (
            {"courseId": COURSE, "batchId": BATCH, "fields": ["grade"]},
            "INVALID_PARAMETER",
            'request.fields[0]: "grade" is not a valid choice.',
        ),
    ],
)
def test_legacy_read_refuses_a_bad_request(
    api: Api, request_body: dict[str, Any], code: str, message: str
) -> None:
    answer = whole(api.call("POST", READ, {"userId": USER, **request_body}))
    assert answer == (400, failure("api.content.state.read", code, message))


# --- C. Enrolment list ---------------------------------------------------------------------


def course_entry(**state: Any) -> dict[str, Any]:
    return {
        "userId": USER,
        "courseId": COURSE,
        "collectionId": COURSE,
        "contentId": COURSE,
        "batchId": BATCH,
        "active": True,
        "courseName": "Course",
        "description": "A course",
        "courseLogoUrl": "https://example.org/logo.png",
        "leafNodesCount": 4,
        "content": {
            "identifier": COURSE,
            "name": "Course",
            "description": "A course",
            "appIcon": "https://example.org/logo.png",
            "leafNodesCount": 4,
        },
        "issuedCertificates": [],
        "certificates": [],
        "lastReadContentId": None,
        "lastReadContentStatus": None,
        "lastContentAccessTime": None,
        "batch": {
            "identifier": BATCH,
            "batchId": BATCH,
            "courseId": COURSE,
            "name": "Batch 0130",
            "startDate": "2020-01-01",
            "endDate": None,
            "enrollmentEndDate": None,
            "enrollmentType": "open",
            "status": 1,
        },
        **state,
    }


def courses(api: Api, query: str = "") -> list[dict[str, Any]]:
    status, body = whole(api.call("GET", f"/v1/user/enrollment/list/{USER}{query}"))
    assert status == 200, body
    found = body["result"]["courses"]
    for entry in found:  # per-call values, checked for their format
        assert isinstance(entry.pop("dateTime"), int)
        assert entry.pop("enrolledDate").endswith("+0000")
    return found


@pytest.mark.usefixtures("course")
def test_legacy_enrolment_list_derives_progress_from_the_aggregates(api: Api) -> None:
    assert courses(api) == []
    api.ok("POST", "/v1/enrol", {"userId": USER, "collectionId": COURSE, "contextId": BATCH})
    assert courses(api) == [
        course_entry(
            contentStatus={}, progress=0, completionPercentage=0, status=0, completedOn=None
        )
    ]
    # C32: 1 of 3 required (do_opt is optional) -> 33 %; an optional content counts for nothing.
    update(api, {"contents": [item("do_1", 2), item("do_2", 1), item("do_opt", 2)]})
    assert courses(api) == [
        course_entry(
            contentStatus={"do_1": 2, "do_2": 1, "do_opt": 2},
            progress=1,
            completionPercentage=33,
            status=1,
            completedOn=None,
        )
    ]
    update(
        api,
        {
            "contents": [item("do_2", 2, lastCompletedTime=T)],
            "assessments": [ASSESSMENT],
        },
    )
    assert courses(api, "?cache=false") == [
        course_entry(
            contentStatus={"do_1": 2, "do_2": 2, "do_q": 2, "do_opt": 2},
            progress=3,
            completionPercentage=100,
            status=2,
            completedOn=courses(api)[0]["completedOn"],
        )
    ]
    assert isinstance(courses(api)[0]["completedOn"], int)


@pytest.mark.usefixtures("course")
def test_legacy_enrolment_list_leaves_out_inactive_enrolments(api: Api) -> None:
    key = {"userId": USER, "collectionId": COURSE, "contextId": BATCH}
    api.ok("POST", "/v1/enrol", key)
    api.ok("POST", "/v1/unenrol", key)
    assert courses(api) == []


@pytest.mark.usefixtures("course")
def test_legacy_reads_answer_the_same_without_consumption_rows(api: Api) -> None:
    """The enrolment list reads no consumption row; the content state read falls back to the
    aggregate's statuses (what archive_consumption leaves behind)."""
    from assessments.repositories import attempt_repository
    from consumption.repositories import consumption_repository
    from viewer import storage
    from viewer.identifiers import Scope

    api.ok("POST", "/v1/enrol", {"userId": USER, "collectionId": COURSE, "contextId": BATCH})
    update(api, {"contents": [item("do_1", 2), item("do_2", 1)], "assessments": [ASSESSMENT]})
    before, states = courses(api), read(api, fields=["score"])
    rows = consumption_repository().list_user(user_id=USER)
    consumption_repository().delete_many(user_id=USER, keys=[r.key for r in rows])
    for scope in {Scope(r.key.user_id, r.key.collection_id, r.key.context_id) for r in rows}:
        storage.status_map().forget_scope(scope=scope)
    attempt_repository().delete_scope(user_id=USER, collection_id=COURSE, context_id=BATCH)
    assert courses(api) == before
    after = read(api, fields=["score"])
    assert [(s["contentId"], s["status"], s["progress"]) for s in after] == [
        (s["contentId"], s["status"], s["progress"]) for s in states
    ]
    # The attempts are gone: the best score the aggregate keeps is listed.
    assert after[2]["score"] == [
        {"attempt_id": None, "last_attempted_on": None, "total_max_score": 1.0, "total_score": 1.0}
    ]


def test_legacy_enrolment_list_refuses_unknown_query_parameters(api: Api) -> None:
    path = f"/v1/user/enrollment/list/{USER}"
    assert whole(api.call("GET", f"{path}?sort=asc")) == (
        400,
        failure("api.user.courses.list", "INVALID_PARAMETER", "query.sort: Unknown parameter."),
    )
    assert whole(api.call("GET", f"{path}?cache=no"))[0] == 400
    portal = "?orgdetails=orgName,email&licenseDetails=name&fields=name&batchDetails=name"
    assert whole(api.call("GET", path + portal))[0] == 200


# --- Authorization -------------------------------------------------------------------------

SECRET = "legacy-test-signing-secret-0123456789-0123456789"


@pytest.fixture
def token() -> Iterator[Callable[..., str]]:
    with override_settings(
        VIEWER_AUTH=True, VIEWER_JWT_SECRET=SECRET, VIEWER_JWT_LOCAL_KEY_FILE=""
    ):
        cache.clear()

        def make(user: str, roles: tuple[str, ...] = ()) -> str:
            now = timeutil.now()
            claims = {"sub": user, "roles": list(roles), "exp": now + timedelta(hours=1)}
            return jwt.encode(claims, SECRET, algorithm="HS256")

        yield make
    cache.clear()


@pytest.mark.usefixtures("course")
def test_legacy_update_of_another_user_is_forbidden_anywhere(
    api: Api, token: Callable[..., str]
) -> None:
    # A11, decided: a foreign userId is refused (403), not silently dropped.
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token(USER)}"}
    foreign = {**item("do_1", 2), "userId": "someone-else"}
    for body in (
        {"contents": [foreign]},
        {"assessments": [{**ASSESSMENT, "userId": "someone-else"}]},
        {"userId": "someone-else", "contents": [item("do_1", 2)]},
    ):
        status, answer = api.call("PATCH", UPDATE, body, **auth)
        assert (status, answer["params"]["err"]) == (403, "FORBIDDEN"), body
    # Without userId, the token's user; that works for the read too.
    status, answer = api.call("PATCH", UPDATE, {"contents": [item("do_1", 2)]}, **auth)
    assert (status, answer["result"]) == (200, {"do_1": "SUCCESS"})
    status, answer = api.call("POST", READ, {"courseId": COURSE, "batchId": BATCH}, **auth)
    assert [c["contentId"] for c in answer["result"]["contentList"]] == ["do_1"]
    # A service acts for anyone, but one request is one user's.
    service = {"HTTP_AUTHORIZATION": f"Bearer {token('platform', ('service',))}"}
    status, answer = api.call("PATCH", UPDATE, {"userId": USER, "contents": [foreign]}, **service)
    assert (status, answer["params"]["errmsg"]) == (
        400,
        "request.contents[0].userId: Must be the request's userId ('user-1').",
    )


@pytest.mark.usefixtures("course")
def test_legacy_update_items_of_one_content_apply_in_order(api: Api) -> None:
    first = item("do_2", 1, progressdetails={"page": 3}, progress=30)
    then = item("do_2", 1, progress=50)  # without details: the ones just sent are kept
    assert update(api, {"contents": [first, then]}) == (
        200,
        envelope("api.content.state.update", {"do_2": "SUCCESS"}),
    )
    [state] = read(api)
    assert (state["progress"], state["progressdetails"]) == (50, {"page": 3})
