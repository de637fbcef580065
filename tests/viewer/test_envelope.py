"""The envelope and the request validation every endpoint shares."""

import json
import re
import uuid

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import override_settings

from consumption.repositories import consumption_repository
from tests.conftest import Api, error_of

START = "/v1/view/start"
VALID = {"userId": "u1", "contentId": "c1"}
TS_PATTERN = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}\+0000$")


def test_envelope_success_fields(api: Api) -> None:
    status, body = api.post(START, VALID)
    assert status == 200
    assert set(body) == {"id", "ver", "ts", "params", "responseCode", "result"}
    assert body["id"] == "api.view.start"
    assert body["ver"] == "v1"
    assert TS_PATTERN.match(body["ts"])
    params = body["params"]
    assert set(params) == {"resmsgid", "msgid", "err", "status", "errmsg"}
    uuid.UUID(params["resmsgid"])
    uuid.UUID(params["msgid"])
    assert params["err"] is None and params["errmsg"] is None
    assert params["status"] == "success"
    assert body["responseCode"] == "OK"
    assert body["result"] == {"c1": "Progress started"}


def test_envelope_echoes_msgid_when_given(api: Api) -> None:
    _, body = api.post(START, body={"params": {"msgid": "m-42"}, "request": VALID})
    assert body["params"]["msgid"] == "m-42"
    _, body = api.post(START, body={"params": {"msgid": "m-43"}, "request": {"userId": 1}})
    assert body["params"]["msgid"] == "m-43"
    assert body["params"]["status"] == "failed"


def test_envelope_error_fields(api: Api) -> None:
    status, body = api.post(START, {"userId": "u1"})
    assert status == 400
    assert body["id"] == "api.view.start"
    assert body["responseCode"] == "CLIENT_ERROR"
    assert body["params"]["status"] == "failed"
    assert body["params"]["err"] == "MANDATORY_PARAMETER_MISSING"
    assert body["params"]["errmsg"] == "request.contentId: This field is required."
    assert body["result"] == {}


def test_envelope_request_id_is_echoed_or_generated(api: Api) -> None:
    response = api.client.post(
        START,
        data=json.dumps({"request": VALID}),
        content_type="application/json",
        headers={"X-Request-ID": "req-1"},
    )
    assert response["X-Request-ID"] == "req-1"
    response = api.client.post(
        START, data=json.dumps({"request": VALID}), content_type="application/json"
    )
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


LONG_ID = "x" * 257

BAD_BODIES = [
    # (case, raw body, code, message fragment)
    ("malformed JSON", '{"request": ', "INVALID_JSON", "not valid JSON"),
    ("NaN is not JSON", '{"request": {"userId": NaN}}', "INVALID_JSON", "NaN"),
    ("body not an object", "[1, 2]", "INVALID_PARAMETER", "body: Must be a JSON object"),
    ("missing request", {"params": {}}, "MANDATORY_PARAMETER_MISSING", "request: This field"),
    ("empty body", "", "MANDATORY_PARAMETER_MISSING", "request: This field"),
    ("request not an object", {"request": "u1"}, "INVALID_PARAMETER", "request: Must be a JSON"),
    ("unknown top-level field", {"request": VALID, "x": 1}, "INVALID_PARAMETER", "x: Unknown"),
    ("params not an object", {"request": VALID, "params": 1}, "INVALID_PARAMETER", "params:"),
    (
        "msgid not a string",
        {"request": VALID, "params": {"msgid": 5}},
        "INVALID_PARAMETER",
        "params.msgid",
    ),
    ("ver not a string", {"request": VALID, "ver": 1}, "INVALID_PARAMETER", "ver: Must be"),
    (
        "unknown request field",
        {"request": {**VALID, "extra": 1}},
        "INVALID_PARAMETER",
        "request.extra: Unknown field.",
    ),
    (
        "missing userId",
        {"request": {"contentId": "c1"}},
        "MANDATORY_PARAMETER_MISSING",
        "request.userId: This field is required.",
    ),
    (
        "null userId",
        {"request": {"userId": None, "contentId": "c1"}},
        "MANDATORY_PARAMETER_MISSING",
        "request.userId",
    ),
    (
        "empty userId",
        {"request": {"userId": "", "contentId": "c1"}},
        "MANDATORY_PARAMETER_MISSING",
        "request.userId: Must not be empty.",
    ),
    (
        "userId a number",
        {"request": {"userId": 7, "contentId": "c1"}},
        "INVALID_PARAMETER",
        "request.userId: Must be a string.",
    ),
    (
        "contentId a list",
        {"request": {"userId": "u", "contentId": ["c"]}},
        "INVALID_PARAMETER",
        "request.contentId: Must be a string.",
    ),
    (
        "id over 256 characters",
        {"request": {"userId": LONG_ID, "contentId": "c"}},
        "INVALID_PARAMETER",
        "request.userId: Must be at most 256 characters.",
    ),
    (
        "id with a control character",
        {"request": {"userId": "u\x00", "contentId": "c"}},
        "INVALID_PARAMETER",
        "request.userId: Must not contain control characters.",
    ),
    (
        "collectionId with a newline",
        {"request": {**VALID, "collectionId": "a\nb"}},
        "INVALID_PARAMETER",
        "request.collectionId: Must not contain control characters.",
    ),
    (
        "context without collection",
        {"request": {**VALID, "contextId": "b1"}},
        "MANDATORY_PARAMETER_MISSING",
        "request.collectionId: Required when contextId is given.",
    ),
    (
        "ts a string",
        {"request": {**VALID, "ts": "2026-01-01"}},
        "INVALID_PARAMETER",
        "request.ts: Must be an integer",
    ),
    ("ts a boolean", {"request": {**VALID, "ts": True}}, "INVALID_PARAMETER", "request.ts"),
    ("ts negative", {"request": {**VALID, "ts": -1}}, "INVALID_PARAMETER", "request.ts"),
    (
        "ts far in the future",
        {"request": {**VALID, "ts": 10**13}},
        "INVALID_PARAMETER",
        "request.ts: Lies more than 300 seconds in the future.",
    ),
]


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_request_validation_rejects_bad_input_naming_the_field(
    api: Api, body: object, code: str, fragment: str
) -> None:
    raw = body if isinstance(body, str) else json.dumps(body)
    status, err, errmsg = error_of(api.post(START, body=raw))
    assert (status, err) == (400, code)
    assert fragment in errmsg
    # Nothing was written.
    assert (
        api.ok("POST", "/v1/view/read", {"userId": "u1", "contentId": "c1"})["contents"][0][
            "status"
        ]
        == 0
    )


def test_request_validation_reports_every_failing_field(api: Api) -> None:
    _, err, errmsg = error_of(api.post(START, {"userId": 5, "extra": True}))
    assert err == "INVALID_PARAMETER"
    for fragment in (
        "request.userId: Must be a string.",
        "request.contentId: This field is",
        "request.extra: Unknown field.",
    ):
        assert fragment in errmsg


def test_request_ts_within_clock_skew_is_accepted(api: Api) -> None:
    from viewer import timeutil

    soon = timeutil.to_ms(timeutil.now()) + 60_000  # type: ignore[operator]
    assert api.ok("POST", START, {**VALID, "ts": soon}) == {"c1": "Progress started"}


def test_request_body_over_limit_is_refused(api: Api) -> None:
    big = json.dumps({"request": {**VALID, "progressDetails": {"x": "y" * 70_000}}})
    status, err, errmsg = error_of(api.post("/v1/view/update", body=big))
    assert (status, err) == (400, "REQUEST_TOO_LARGE")
    assert "65536 bytes" in errmsg


def test_unknown_url_answers_404_in_envelope(api: Api) -> None:
    status, err, errmsg = error_of(api.get("/v1/nothing-here"))
    assert (status, err) == (404, "RESOURCE_NOT_FOUND")
    assert "/v1/nothing-here" in errmsg


def test_wrong_method_answers_405_in_envelope(api: Api) -> None:
    status, err, _ = error_of(api.get(START))
    assert (status, err) == (405, "METHOD_NOT_ALLOWED")


def test_wrong_content_type_answers_415_in_envelope(api: Api) -> None:
    status, err, errmsg = error_of(
        api.post(START, body="userId=u1", content_type="application/x-www-form-urlencoded")
    )
    assert (status, err) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in errmsg


def test_store_down_answers_503(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:  # undone before the test's stores are cleaned
        if settings.VIEWER_STORE == "cassandra":
            from cassandra.cluster import NoHostAvailable

            from viewer import cql

            class Unreachable:
                def prepare(self, *args: object) -> None:
                    raise NoHostAvailable("Unable to connect to any servers", {})

                execute = prepare

            patch.setattr(cql, "_prepared", {})
            patch.setattr(cql, "session", Unreachable)
        else:

            def down(*args: object, **kwargs: object) -> None:
                raise OperationalError("unable to open database file")

            patch.setattr(type(consumption_repository()), "start", down)
        status, err, errmsg = error_of(api.post(START, VALID))
    assert (status, err) == (503, "SERVICE_UNAVAILABLE")
    assert "nothing was written" in errmsg


def test_unexpected_error_answers_500_in_envelope(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(type(consumption_repository()), "start", broken)
    status, body = api.post(START, VALID)
    assert status == 500
    assert body["params"]["err"] == "SERVER_ERROR"
    assert "boom" not in body["params"]["errmsg"]


def test_health_and_ready(api: Api) -> None:
    assert api.ok("GET", "/health") == {"healthy": True}
    ready = api.ok("GET", "/ready")
    assert ready["ready"] is True
    names = {c["name"] for c in ready["checks"]}
    assert names == (
        {"database", "cassandra", "redis"} if settings.VIEWER_STORE == "cassandra" else {"database"}
    )
    assert all(c["status"] == "up" for c in ready["checks"])


def test_ready_answers_503_naming_the_dependency_down(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down() -> None:
        raise OperationalError("gone")

    with monkeypatch.context() as patch:  # undone before the test database is torn down
        patch.setattr(connection, "ensure_connection", down)
        status, body = api.get("/ready")
    assert status == 503
    assert body["params"]["err"] == "SERVICE_UNAVAILABLE"
    assert "database" in body["params"]["errmsg"]
    database = next(c for c in body["result"]["checks"] if c["name"] == "database")
    assert database == {**database, "status": "down", "error": "OperationalError"}


def test_ready_checks_the_broker_and_a_worker_when_a_broker_is_configured(api: Api) -> None:
    from celery import current_app

    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        old = current_app.conf.broker_url
        current_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
        try:
            status, body = api.get("/ready")
        finally:
            current_app.conf.broker_url = old
    checks = {c["name"]: c["status"] for c in body["result"]["checks"]}
    assert status == 503
    assert (checks["broker"], checks["worker"]) == ("down", "down")
    assert "broker" in body["params"]["errmsg"]


def test_options_is_a_405_in_the_envelope(api: Api) -> None:
    """Found by schema fuzzing: DRF's OPTIONS self-description bypassed the envelope."""
    status, err, _ = error_of(api.call("OPTIONS", START))
    assert (status, err) == (405, "METHOD_NOT_ALLOWED")
