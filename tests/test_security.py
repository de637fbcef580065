"""Authentication and authorization on every endpoint, token edge cases, throttling, and the
production settings' refusal to run open."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import Api
from viewer import timeutil

SECRET = "test-signing-secret-long-enough-for-hs512-0123456789-0123456789-0123456789"
ME, OTHER = "learner-1", "learner-2"

# Every non-public endpoint: (method, path, request). "{user}" is replaced by the acting user id.
# A new endpoint missing here fails test_security_table_covers_every_endpoint.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/v1/view/start", {"userId": "{user}", "contentId": "c1"}),
    ("POST", "/v1/view/update", {"userId": "{user}", "contentId": "c1", "progressDetails": {}}),
    ("POST", "/v1/view/end", {"userId": "{user}", "contentId": "c1"}),
    ("POST", "/v1/view/read", {"userId": "{user}", "contentId": "c1"}),
    ("POST", "/v1/view/explain", {"userId": "{user}", "contentId": "c1"}),
    ("POST", "/v1/enrol", {"userId": "{user}", "collectionId": "C1", "contextId": "B1"}),
    ("POST", "/v1/unenrol", {"userId": "{user}", "collectionId": "C1", "contextId": "B1"}),
    (
        "POST",
        "/v1/assessment/submit",
        {
            "userId": "{user}",
            "contentId": "c1",
            "collectionId": "C1",
            "contextId": "B1",
            "attemptId": "a1",
            "assessmentTs": 1_700_000_000_000,
            "events": [
                {
                    "eid": "ASSESS",
                    "ets": 1_700_000_000_000,
                    "edata": {"item": {"id": "q1", "maxscore": 1}, "score": 1},
                }
            ],
        },
    ),
    ("POST", "/v1/assessment/read", {"userId": "{user}", "collectionId": "C1", "contextId": "B1"}),
    ("GET", "/v1/summary/list/{user}", None),
    ("POST", "/v1/summary/read", {"userId": "{user}", "collectionId": "C1", "contextId": "B1"}),
    ("DELETE", "/v1/summary/delete/{user}", {"collectionId": "C1", "contextId": "B1"}),
    ("GET", "/v1/summary/download/{user}", None),
    ("GET", "/v1/collection/C1", None),
    ("PUT", "/v1/collection/C1", {"name": "n", "children": [{"identifier": "c1"}]}),
    ("GET", "/v1/context/B1", None),
    (
        "PUT",
        "/v1/context/B1",
        {"type": "batch", "collectionIds": ["C1"], "startDate": "2026-01-01"},
    ),
    ("GET", "/metrics", None),  # a service or admin token (tests/viewer/test_metrics.py)
    (
        "PATCH",
        "/v1/content/state/update",
        {
            "userId": "{user}",
            "contents": [{"contentId": "c1", "courseId": "C1", "batchId": "B1", "status": 1}],
        },
    ),
    ("POST", "/v1/content/state/read", {"userId": "{user}", "courseId": "C1", "batchId": "B1"}),
    ("GET", "/v1/user/enrollment/list/{user}", None),
]
PUBLIC_ROUTES = {
    "health",
    "ready",
    "api/schema/",
    "api/docs/",
    "v1/summary/file/<str:token>/<str:filename>",  # a signed, expiring link
}
ADMIN_WRITES = {("PUT", "/v1/collection/C1"), ("PUT", "/v1/context/B1")}


def _routes(patterns: list[Any], prefix: str = "") -> set[str]:
    routes: set[str] = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("admin/"):
                continue  # Django admin: behind Django's own login
            routes |= _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            routes.add(route)
    return routes


def _route_of(path: str) -> str:
    resolved = get_resolver().resolve(path)
    return str(resolved.route)


def test_security_table_covers_every_endpoint() -> None:
    covered = {_route_of(path.format(user=ME)) for _, path, _ in ENDPOINTS}
    assert _routes(get_resolver().url_patterns) - PUBLIC_ROUTES == covered


@pytest.fixture
def auth_on() -> Iterator[Callable[..., str]]:
    """Authentication on, HS256; yields a token factory."""
    with override_settings(
        VIEWER_AUTH=True, VIEWER_JWT_SECRET=SECRET, VIEWER_JWT_LOCAL_KEY_FILE=""
    ):
        cache.clear()

        def token(user: str = ME, *, roles: list[str] | None = None, **claims: Any) -> str:
            now = timeutil.now()
            payload = {
                "sub": user,
                "roles": roles or [],
                "iat": now,
                "exp": now + timedelta(hours=1),
                **claims,
            }
            return jwt.encode(payload, SECRET, algorithm="HS256")

        yield token
    cache.clear()


def _call(
    api: Api,
    method: str,
    path: str,
    request: dict | None,
    user: str,
    token: str | None = None,
    **headers: str,
) -> tuple[int, dict[str, Any]]:
    body = None if request is None else json.loads(json.dumps(request).replace("{user}", user))
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return api.call(method, path.format(user=user), body, **headers)


@pytest.mark.parametrize(
    ("method", "path", "request_body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
def test_security_every_endpoint_needs_a_token(
    api: Api, auth_on: Callable[..., str], method: str, path: str, request_body: Any
) -> None:
    header_sets: list[dict[str, Any]] = [
        {},
        {"HTTP_AUTHORIZATION": "Token abc"},
        {"HTTP_AUTHORIZATION": "Bearer"},
        {"HTTP_AUTHORIZATION": "Bearer not.a.jwt"},
    ]
    for headers in header_sets:
        response = api.client.generic(
            method,
            path.format(user=ME),
            json.dumps({"request": request_body}) if request_body else "",
            content_type="application/json",
            **headers,
        )
        body = response.json()
        assert response.status_code == 401, (headers, body)
        assert (body["params"]["err"], body["responseCode"]) == ("UNAUTHORIZED", "UNAUTHORIZED")
        assert body["result"] == {}
        assert response["WWW-Authenticate"].startswith("Bearer")


ACTS_FOR_A_USER = [e for e in ENDPOINTS if "{user}" in json.dumps(e[1:])]


@pytest.mark.parametrize(
    ("method", "path", "request_body"),
    ACTS_FOR_A_USER,
    ids=[f"{m} {p}" for m, p, _ in ACTS_FOR_A_USER],
)
def test_security_learner_cannot_act_for_another_user(
    api: Api,
    auth_on: Callable[..., str],
    maths_catalogue_admin: None,
    method: str,
    path: str,
    request_body: Any,
) -> None:
    status, body = _call(api, method, path, request_body, OTHER, auth_on(ME))
    assert status == 403, body
    assert body["params"]["err"] == "FORBIDDEN"
    assert body["params"]["errmsg"] == "You may only read and write your own progress."
    # The same call for oneself is allowed (any answer but 401/403).
    status, _ = _call(api, method, path, request_body, ME, auth_on(ME))
    assert status not in (401, 403)
    # A service acts for anyone.
    status, _ = _call(
        api, method, path, request_body, OTHER, auth_on("platform", roles=["service"])
    )
    assert status not in (401, 403)


@pytest.fixture
def maths_catalogue_admin(api: Api, auth_on: Callable[..., str]) -> None:
    admin = auth_on("ops", roles=["admin"])
    for method, path, body in ENDPOINTS:
        if (method, path) in ADMIN_WRITES:
            status, response = _call(api, method, path, body, "ops", admin)
            assert status == 200, response


@pytest.mark.parametrize(("method", "path"), sorted(ADMIN_WRITES))
def test_security_catalogue_writes_need_admin(
    api: Api, auth_on: Callable[..., str], method: str, path: str
) -> None:
    body = next(b for m, p, b in ENDPOINTS if (m, p) == (method, path))
    if path.startswith("/v1/context"):
        _call(
            api,
            "PUT",
            "/v1/collection/C1",
            next(b for m, p, b in ENDPOINTS if (m, p) == ("PUT", "/v1/collection/C1")),
            "ops",
            auth_on("ops", roles=["admin"]),
        )
    for roles in ([], ["service"]):
        status, response = _call(api, method, path, body, ME, auth_on(ME, roles=roles))
        assert (status, response["params"]["err"]) == (403, "FORBIDDEN")
        assert "admin role" in response["params"]["errmsg"]
    status, _ = _call(api, method, path, body, "ops", auth_on("ops", roles=["admin"]))
    assert status == 200
    status, _ = _call(api, "GET", path, None, ME, auth_on(ME))
    assert status == 200  # reading the catalogue needs no role


@pytest.mark.parametrize(
    "case",
    ["expired", "tampered", "not yet valid", "no subject", "wrong algorithm", "wrong secret"],
)
def test_security_bad_tokens_are_401(api: Api, auth_on: Callable[..., str], case: str) -> None:
    now = timeutil.now()
    token = {
        "expired": lambda: auth_on(ME, exp=now - timedelta(minutes=5)),
        "tampered": lambda: (
            auth_on(ME)[:-3] + ("aaa" if not auth_on(ME).endswith("aaa") else "bbb")
        ),
        "not yet valid": lambda: auth_on(ME, nbf=now + timedelta(minutes=5)),
        "no subject": lambda: jwt.encode({"exp": now + timedelta(hours=1)}, SECRET, "HS256"),
        "wrong algorithm": lambda: jwt.encode(
            {"sub": ME, "exp": now + timedelta(hours=1)}, SECRET, "HS512"
        ),
        "wrong secret": lambda: jwt.encode(
            {"sub": ME, "exp": now + timedelta(hours=1)},
            "another-secret-another-secret-another",
            "HS256",
        ),
    }[case]()
    status, body = _call(api, "POST", "/v1/view/read", {"userId": ME, "contentId": "c"}, ME, token)
    assert (status, body["params"]["err"]) == (401, "UNAUTHORIZED")
    assert token not in body["params"]["errmsg"]


def test_security_a_verified_token_is_kept_yet_still_expires(
    api: Api, auth_on: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client sends the same token with every request: its signature is checked once, but a
    kept token still expires, and new verification settings (a rotated secret) check it anew."""
    from viewer import auth

    read = {"userId": ME, "contentId": "c"}
    decoded: list[str] = []
    decode = auth._decode

    def counted(token: str) -> tuple[Any, dict[str, Any]]:
        decoded.append(token)
        return decode(token)

    monkeypatch.setattr(auth, "_decode", counted)
    with override_settings(VIEWER_JWT_LEEWAY_SECONDS=0):
        token = auth_on(ME, exp=timeutil.now() + timedelta(seconds=1))
        for _ in range(3):
            assert _call(api, "POST", "/v1/view/read", read, ME, token)[0] == 200
        assert decoded == [token]
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        time.sleep(max(0.0, exp - time.time()) + 0.05)
        status, body = _call(api, "POST", "/v1/view/read", read, ME, token)
        assert (status, body["params"]["err"]) == (401, "UNAUTHORIZED")
        assert "expired" in body["params"]["errmsg"]
    token = auth_on(ME)
    assert _call(api, "POST", "/v1/view/read", read, ME, token)[0] == 200
    with override_settings(VIEWER_JWT_SECRET="a-rotated-secret-a-rotated-secret-0123456789"):
        assert _call(api, "POST", "/v1/view/read", read, ME, token)[0] == 401


def test_security_issuer_and_audience_are_checked(api: Api, auth_on: Callable[..., str]) -> None:
    read = {"userId": ME, "contentId": "c"}
    with override_settings(VIEWER_JWT_ISSUER="https://idp", VIEWER_JWT_AUDIENCE="viewer"):
        good = auth_on(ME, iss="https://idp", aud="viewer")
        assert _call(api, "POST", "/v1/view/read", read, ME, good)[0] == 200
        for claims in (
            {"iss": "https://evil", "aud": "viewer"},
            {"iss": "https://idp", "aud": "x"},
            {"aud": "viewer"},
        ):
            assert _call(api, "POST", "/v1/view/read", read, ME, auth_on(ME, **claims))[0] == 401


def test_security_gateway_header_only_when_trusted(api: Api, auth_on: Callable[..., str]) -> None:
    read = {"userId": ME, "contentId": "c"}
    header = {"HTTP_X_AUTHENTICATED_USER_TOKEN": auth_on(ME)}
    assert _call(api, "POST", "/v1/view/read", read, ME, **header)[0] == 401
    with override_settings(VIEWER_JWT_TRUST_GATEWAY_HEADER=True):
        assert _call(api, "POST", "/v1/view/read", read, ME, **header)[0] == 200


def test_security_rs256_from_a_jwks_file_and_es256_from_pem(
    api: Api, auth_on: Callable[..., str], tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    read = {"userId": ME, "contentId": "c"}
    claims = {"sub": ME, "exp": timeutil.now() + timedelta(hours=1)}
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    with override_settings(VIEWER_JWT_SECRET="", VIEWER_JWT_PUBLIC_KEYS=str(jwks)):
        good = jwt.encode(claims, rsa_key, "RS256", headers={"kid": "k1"})
        assert _call(api, "POST", "/v1/view/read", read, ME, good)[0] == 200
        unknown_kid = jwt.encode(claims, rsa_key, "RS256", headers={"kid": "k2"})
        assert _call(api, "POST", "/v1/view/read", read, ME, unknown_kid)[0] == 401
        assert _call(api, "POST", "/v1/view/read", read, ME, auth_on(ME))[0] == 401  # HS256
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = (
        ec_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with override_settings(VIEWER_JWT_SECRET="", VIEWER_JWT_PUBLIC_KEYS=pem):
        good = jwt.encode(claims, ec_key, "ES256")
        assert _call(api, "POST", "/v1/view/read", read, ME, good)[0] == 200


def test_security_public_endpoints_need_no_token(api: Api, auth_on: Callable[..., str]) -> None:
    for path in ("/health", "/ready", "/api/schema/", "/api/docs/"):
        assert api.client.get(path).status_code == 200, path


def test_security_throttling_answers_429_in_the_envelope(
    api: Api, auth_on: Callable[..., str]
) -> None:
    read = {"userId": ME, "contentId": "c"}
    with override_settings(VIEWER_THROTTLE_USER="2/min", VIEWER_THROTTLE_ANON="1/min"):
        token = auth_on(ME)
        assert [_call(api, "POST", "/v1/view/read", read, ME, token)[0] for _ in range(2)] == [
            200,
            200,
        ]
        response = api.client.post(
            "/v1/view/read",
            json.dumps({"request": read}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        body = response.json()
        assert response.status_code == 429
        assert body["params"]["err"] == "TOO_MANY_REQUESTS"
        assert int(response["Retry-After"]) > 0
        # Another user has their own budget; anonymous callers are limited per IP.
        assert (
            _call(api, "POST", "/v1/view/read", {**read, "userId": OTHER}, OTHER, auth_on(OTHER))[0]
            == 200
        )
        assert [_call(api, "POST", "/v1/view/read", read, ME)[0] for _ in range(2)] == [401, 429]


def test_security_issue_token_prints_only_a_valid_token(tmp_path: Path) -> None:
    import io

    key_file = tmp_path / "jwt-secret"
    out, err = io.StringIO(), io.StringIO()
    with override_settings(
        VIEWER_AUTH=True, VIEWER_JWT_SECRET="", VIEWER_JWT_LOCAL_KEY_FILE=str(key_file)
    ):
        call_command(
            "issue_token",
            "--user",
            "u9",
            "--role",
            "service",
            "--ttl",
            "60",
            stdout=out,
            stderr=err,
        )
        token = out.getvalue().strip()
        assert key_file.exists() and oct(key_file.stat().st_mode)[-3:] == "600"
        claims = jwt.decode(token, key_file.read_text().strip(), algorithms=["HS256"])
    assert (claims["sub"], claims["roles"]) == ("u9", ["service"])
    assert claims["exp"] - claims["iat"] == 60
    assert "\n" not in token and err.getvalue() == ""


def _production(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VIEWER_", "DJANGO_"))}
    settings_env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-0123456789",
        "DJANGO_ALLOWED_HOSTS": "viewer.example.org",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**base, **settings_env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )


def test_security_production_settings_pass_check_deploy() -> None:
    result = _production(VIEWER_JWT_SECRET=SECRET)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "Set VIEWER_JWT_PUBLIC_KEYS"),
        ({"VIEWER_JWT_SECRET": "short"}, "at least 32 characters"),
        ({"VIEWER_JWT_SECRET": SECRET, "VIEWER_AUTH": "off"}, "VIEWER_AUTH=off is accepted only"),
    ],
)
def test_security_production_settings_refuse_to_run_open(env: dict[str, str], message: str) -> None:
    result = _production(**env)
    assert result.returncode != 0
    assert message in result.stderr
