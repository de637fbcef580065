"""POST /v1/enrol and /v1/unenrol: the course service's rules and codes."""

import pytest

from summaries.selectors import enrolments_of_user
from tests.conftest import Api, error_of
from tests.modes.scenario import put_context

BODY = {"userId": "u1", "collectionId": "class-1-maths", "contextId": "batch-1"}


def test_enrol_then_unenrol_then_enrol_again_keeps_the_history(
    api: Api, maths_catalogue: None
) -> None:
    assert api.ok("POST", "/v1/enrol", BODY) == {"response": "SUCCESS"}
    [first] = enrolments_of_user(user_id="u1")
    assert (first.active, first.status, first.progress) == (True, 0, 0)
    assert api.ok("POST", "/v1/unenrol", BODY) == {"response": "SUCCESS"}
    [left] = enrolments_of_user(user_id="u1")
    assert left.active is False
    api.ok("POST", "/v1/enrol", BODY)
    [again] = enrolments_of_user(user_id="u1")
    assert again.active is True
    assert again.enrolled_date == first.enrolled_date


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ({"contextId": "nope"}, "INVALID_COURSE_BATCH_ID", "Invalid context id 'nope'"),
        (
            {"collectionId": "class-2-maths"},
            "INVALID_COURSE_BATCH_ID",
            "does not include collection 'class-2-maths'",
        ),
    ],
)
def test_enrol_refuses_an_unknown_context(
    api: Api, maths_catalogue: None, change: dict, code: str, fragment: str
) -> None:
    for endpoint in ("/v1/enrol", "/v1/unenrol"):
        status, err, errmsg = error_of(api.post(endpoint, {**BODY, **change}))
        assert (status, err) == (400, code)
        assert fragment in errmsg


def test_enrol_refuses_an_ended_context(api: Api, maths_catalogue: None) -> None:
    api.ok("POST", "/v1/enrol", BODY)
    put_context(api, "batch-1", "class-1-maths", start="2025-01-01", end="2025-12-31")
    for endpoint in ("/v1/enrol", "/v1/unenrol"):
        status, err, _ = error_of(api.post(endpoint, {**BODY, "userId": "u2"}))
        assert (status, err) == (400, "COURSE_BATCH_ALREADY_COMPLETED")


def test_enrol_refuses_after_the_enrolment_end_date(api: Api, maths_catalogue: None) -> None:
    api.ok(
        "PUT",
        "/v1/context/batch-1",
        {
            "type": "batch",
            "collectionIds": ["class-1-maths"],
            "startDate": "2025-01-01",
            "enrollmentEndDate": "2025-06-30",
        },
    )
    status, err, errmsg = error_of(api.post("/v1/enrol", BODY))
    assert (status, err) == (400, "COURSE_BATCH_ENROLLMENT_DATE_ENDED")
    assert "batch-1" in errmsg


def test_enrol_twice_and_unenrol_twice_are_refused(api: Api, maths_catalogue: None) -> None:
    status, err, _ = error_of(api.post("/v1/unenrol", BODY))
    assert (status, err) == (400, "USER_NOT_ENROLLED_COURSE")
    api.ok("POST", "/v1/enrol", BODY)
    status, err, _ = error_of(api.post("/v1/enrol", BODY))
    assert (status, err) == (400, "USER_ALREADY_ENROLLED_COURSE")
    api.ok("POST", "/v1/unenrol", BODY)
    status, err, _ = error_of(api.post("/v1/unenrol", BODY))
    assert (status, err) == (400, "USER_NOT_ENROLLED_COURSE")


@pytest.mark.parametrize("field", ["userId", "collectionId", "contextId"])
def test_enrol_needs_every_id(api: Api, field: str) -> None:
    body = {k: v for k, v in BODY.items() if k != field}
    status, err, errmsg = error_of(api.post("/v1/enrol", body))
    assert (status, err) == (400, "MANDATORY_PARAMETER_MISSING")
    assert errmsg == f"request.{field}: This field is required."
