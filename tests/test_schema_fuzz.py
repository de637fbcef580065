"""Schema fuzzing: schemathesis drives every operation of the served OpenAPI schema with a
fixed seed and a bounded number of examples; no answer may be a 5xx, every answer conforms to
the schema (status, content type, body) and is in the Sunbird envelope.

The machinery lives in tests/fuzz_support; the last tests prove it fails on an endpoint that
answers 500 and on an error outside the envelope."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import FailureGroup, ServerError

from tests import fuzz_support
from tests.conftest import Api

schema = fuzz_support.load_schema()


@pytest.fixture
def known_data() -> Iterator[None]:
    """Authentication on, and the data the generated ids are drawn towards: a catalogue,
    enrolments, started views (in the course and on their own) and an assessment attempt."""
    with fuzz_support.auth_on():
        api = Api()
        api.client.credentials(HTTP_AUTHORIZATION=f"Bearer {fuzz_support.admin_token()}")
        course, batch = fuzz_support.COLLECTION, fuzz_support.CONTEXT
        api.ok(
            "PUT",
            f"/v1/collection/{course}",
            {
                "name": "Course 1",
                "children": [
                    {"identifier": "do_1"},
                    {"identifier": "unit-1", "children": [{"identifier": "do_2"}]},
                    {"identifier": "do_3", "optional": True},
                ],
            },
        )
        api.ok(
            "PUT",
            f"/v1/context/{batch}",
            {
                "type": "batch",
                "collectionIds": [course],
                "startDate": fuzz_support.DATES["startDate"],
            },
        )
        for user in fuzz_support.USERS:
            key = {"userId": user, "collectionId": course, "contextId": batch}
            api.ok("POST", "/v1/enrol", key)
            for content in fuzz_support.CONTENTS:
                api.ok("POST", "/v1/view/start", {**key, "contentId": content})
                api.ok("POST", "/v1/view/start", {"userId": user, "contentId": content})
        ts = fuzz_support.PAST_MS
        api.ok(
            "POST",
            "/v1/assessment/submit",
            {
                "userId": fuzz_support.USERS[0],
                "collectionId": course,
                "contextId": batch,
                "contentId": "do_2",
                "attemptId": "attempt-1",
                "assessmentTs": ts,
                "events": [
                    {
                        "eid": "ASSESS",
                        "ets": ts,
                        "edata": {"item": {"id": "q1", "maxscore": 1}, "score": 1},
                    }
                ],
            },
        )
        with fuzz_support.connections_left_open():
            yield


# A real transaction per request (autocommit), as served: on-commit work such as the
# completion follow-up runs inside the request, where the fuzzer sees its failures.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("known_data")
@schema.parametrize()
def test_schema_fuzz_every_operation(case: Any) -> None:
    assert not connection.in_atomic_block
    fuzz_support.call(case)


# --- The check fails where it must -----------------------------------------------------------

CRASH_URLCONF = "tests.fuzz_support.broken_urls"


def _fuzz_one(path: str, method: str) -> None:
    """Fuzz one operation of the schema served with CRASH_URLCONF, with the same machinery."""
    with override_settings(ROOT_URLCONF=CRASH_URLCONF):
        broken = fuzz_support.load_schema(max_examples=3)
        operation = broken[path][method]

        @settings(max_examples=3, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            fuzz_support.call(case)

        with fuzz_support.fuzz_environment():
            run()


def _failures(excinfo: pytest.ExceptionInfo[BaseException]) -> list[BaseException]:
    error = excinfo.value
    return list(error.exceptions) if isinstance(error, FailureGroup) else [error]


def test_schema_fuzz_fails_on_an_endpoint_that_answers_500() -> None:
    with pytest.raises(FailureGroup) as excinfo:
        _fuzz_one("/v1/broken/crash", "GET")
    failures = _failures(excinfo)
    assert [type(f) for f in failures] == [ServerError], failures
    assert failures[0].status_code == 500  # type: ignore[attr-defined]


def test_schema_fuzz_fails_on_an_error_outside_the_envelope() -> None:
    with pytest.raises(FailureGroup) as excinfo:
        _fuzz_one("/v1/broken/bare", "GET")
    messages = [str(f) for f in _failures(excinfo)]
    assert any("outside the envelope" in m and "params is not an object" in m for m in messages)


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (400, [], "the body is not a JSON object"),
        (400, {"detail": "x"}, "params is not an object"),
        (
            400,
            {
                "id": "api.x",
                "ver": "v1",
                "ts": "t",
                "responseCode": "CLIENT_ERROR",
                "params": {"status": "success", "err": "X", "errmsg": "m"},
                "result": {},
            },
            "params.status is not 'failed'",
        ),
        (
            503,
            {
                "id": "api.x",
                "ver": "v1",
                "ts": "t",
                "responseCode": "SERVICE_UNAVAILABLE",
                "params": {"status": "failed", "err": "", "errmsg": "m"},
                "result": {},
            },
            "params.err is not a non-empty string",
        ),
        (
            200,
            {
                "id": "api.x",
                "ver": "v1",
                "ts": "t",
                "responseCode": "OK",
                "params": {"status": "failed", "err": None, "errmsg": None},
                "result": {},
            },
            "a success without params.status 'success' and params.err null",
        ),
    ],
)
def test_schema_fuzz_envelope_check_names_the_problem(status: int, body: Any, problem: str) -> None:
    assert problem in fuzz_support.envelope_problems(status, body)
