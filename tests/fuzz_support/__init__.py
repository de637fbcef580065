"""Schema fuzzing machinery shared by tests/test_schema_fuzz.py: the schemathesis configuration
(fixed seed, bounded examples, an admin token), the checks every response must pass (the
built-in ones plus the Sunbird envelope), and the request environment the fuzzer runs in.

The fuzzer calls the WSGI application in-process (the same middleware, URLconf and exception
handlers as a served process): no server to start, and it works on the test database and keyspace
with the rest of the suite. tests/test_shutdown.py covers the served process (gunicorn)."""

import json
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import jwt
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from viewer import timeutil

SCHEMA_PATH = "/api/schema/?format=json"
# A fixed seed: every run sends the same requests. Hypothesis examples per operation (after
# schemathesis' deterministic coverage cases). Both can be changed for an exploring run by hand:
# VIEWER_FUZZ_EXAMPLES=500 VIEWER_FUZZ_SEED=7 .venv/bin/pytest tests/test_schema_fuzz.py
SEED = int(os.environ.get("VIEWER_FUZZ_SEED", "20261128"))
MAX_EXAMPLES = int(os.environ.get("VIEWER_FUZZ_EXAMPLES", "25"))
SECRET = "fuzz-signing-secret-long-enough-for-hs256-0123456789"
ADMIN = "fuzz-admin"

# Three in four generated requests are drawn towards the data seeded before each operation (a
# catalogue, an enrolment, started views, an attempt): known ids, valid dates, ASSESS events, past
# times. Otherwise nearly every request would end at "unknown id" and never reach the code behind.
USERS = ("learner-1", "learner-2")
CONTENTS = ("do_1", "do_2", "do_3")
COLLECTION = "course-1"
CONTEXT = "batch-1"
DATES = {"startDate": "2026-01-01", "endDate": "2027-12-31", "enrollmentEndDate": "2027-06-30"}
PAST_MS = 1_780_000_000_000  # 2026-05-28


class EnvelopeError(AssertionError):
    """A response outside the Sunbird envelope."""


@schemathesis.check
def sunbird_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error, and every JSON success, is the Sunbird envelope; an error has
    ``params.status`` ``failed``, a code in ``params.err`` and a message in ``params.errmsg``.
    (A success in another media type, such as /metrics' text, is content_type_conformance's.)"""
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if response.status_code < 400 and "json" not in content_type.lower():
        return None
    try:
        body = response.json()
    except ValueError as exc:
        raise EnvelopeError(f"{response.status_code}: the body is not JSON") from exc
    problems = envelope_problems(response.status_code, body)
    if problems:
        raise EnvelopeError(f"{response.status_code} outside the envelope: {'; '.join(problems)}")
    return None


def envelope_problems(status: int, body: Any) -> list[str]:
    """What keeps ``body`` (answered with HTTP ``status``) from being a Sunbird envelope."""
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    problems = [
        f"{key} is not a non-empty string"
        for key in ("id", "ver", "ts", "responseCode")
        if not (isinstance(body.get(key), str) and body[key])
    ]
    params = body.get("params")
    if not isinstance(params, dict):
        return [*problems, "params is not an object"]
    if not isinstance(body.get("result"), dict):
        problems.append("result is not an object")
    if status >= 400:
        if params.get("status") != "failed":
            problems.append("params.status is not 'failed'")
        for key in ("err", "errmsg"):
            if not (isinstance(params.get(key), str) and params[key]):
                problems.append(f"params.{key} is not a non-empty string")
    elif params.get("status") != "success" or params.get("err") is not None:
        problems.append("a success without params.status 'success' and params.err null")
    return problems


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    sunbird_envelope,
]


def admin_token() -> str:
    now = timeutil.now()
    claims = {"sub": ADMIN, "roles": ["admin"], "iat": now, "exp": now + timedelta(hours=12)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def config(*, max_examples: int = MAX_EXAMPLES) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {admin_token()}"},
            # Too slow is what a store round trip per example is; no example database, so a
            # run depends on the seed alone.
            "suppress-health-check": ["too_slow"],
            "generation": {"max-examples": max_examples, "database": "none"},
        }
    )


@contextmanager
def auth_on() -> Iterator[None]:
    """Authentication on, with the key that signed the fuzzer's admin token."""
    with override_settings(
        VIEWER_AUTH=True, VIEWER_JWT_SECRET=SECRET, VIEWER_JWT_LOCAL_KEY_FILE=""
    ):
        yield


@contextmanager
def connections_left_open() -> Iterator[None]:
    """Requests that leave the test's database connections alone. Django runs
    ``close_old_connections`` at each request's start and end, where the test database guard
    refuses it; Django's test client disconnects it the same way (and connects it again after
    each of its requests: seed data before entering this)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@contextmanager
def fuzz_environment() -> Iterator[None]:
    with auth_on(), connections_left_open():
        yield


def load_schema(*, max_examples: int = MAX_EXAMPLES) -> Any:
    """The OpenAPI schema as the application serves it, bound to the application in-process."""
    with fuzz_environment():
        schema = schemathesis.openapi.from_wsgi(
            SCHEMA_PATH, WSGIHandler(), config=config(max_examples=max_examples)
        )

    @schema.hook("map_body")
    def towards_known_data(ctx: Any, body: Any) -> Any:
        request = body.get("request") if isinstance(body, dict) else None
        if isinstance(request, dict):
            _towards_known_data(request, _digest(body))
        return body

    @schema.hook("map_path_parameters")
    def towards_known_path_ids(ctx: Any, parameters: dict[str, Any] | None) -> Any:
        if not parameters:
            return parameters
        digest = _digest(parameters)
        path = ctx.operation.path if ctx.operation is not None else ""
        known = {
            "user_id": USERS[(digest >> 2) % len(USERS)],
            "identifier": COLLECTION if "/collection/" in path else CONTEXT,
        }
        if digest % 4:
            for key, value in parameters.items():
                if key in known and _valid_id(value):
                    parameters[key] = known[key]
        return parameters

    return schema


def _digest(value: Any) -> int:
    """A stable hash of a generated value (not ``hash()``: that changes per process)."""
    return zlib.crc32(json.dumps(value, sort_keys=True, default=repr).encode())


def _valid_id(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= 256
        and not any(ord(char) < 32 or ord(char) == 127 for char in value)
    )


def _towards_known_data(request: dict[str, Any], digest: int) -> None:
    """Rewrite, in place, the valid-looking values of three in four requests to seeded ones;
    invalid values stay as generated, to probe validation."""
    if digest % 4 == 0:
        return
    known = {
        "userId": USERS[(digest >> 2) % len(USERS)],
        "collectionId": COLLECTION,
        "contextId": CONTEXT,
    }
    for key, value in request.items():
        if key in known and _valid_id(value):
            request[key] = known[key]
        elif key == "contentId" and _valid_id(value):
            request[key] = CONTENTS[(digest >> 4) % len(CONTENTS)]
        elif key in ("contentId", "collectionIds") and isinstance(value, list):
            pool = CONTENTS if key == "contentId" else (COLLECTION,)
            request[key] = [
                pool[(digest + i) % len(pool)] if _valid_id(item) else item
                for i, item in enumerate(value)
            ]
        elif key in DATES and isinstance(value, str):
            request[key] = DATES[key]
        elif key in ("assessmentTs", "ts") and isinstance(value, int) and value > PAST_MS:
            request[key] = PAST_MS
    events = request.get("events")
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict):
            if isinstance(event.get("eid"), str):
                event["eid"] = "ASSESS"
            if isinstance(event.get("ets"), int) and event["ets"] > PAST_MS:
                event["ets"] = PAST_MS


def call(case: Any) -> Any:
    """Send one generated request and run every check on its answer."""
    return case.call_and_validate(checks=CHECKS)
