"""Shared fixtures: an API client that speaks the envelope, and the catalogue of MODES.md."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from viewer import timeutil


class Api:
    """Posts ``{"request": ...}`` bodies and returns (HTTP status, parsed envelope)."""

    def __init__(self) -> None:
        self.client = APIClient()

    def call(
        self, method: str, path: str, request: Any = None, *, body: Any = None, **extra: Any
    ) -> tuple[int, dict[str, Any]]:
        payload = (
            body if body is not None else ({"request": request} if request is not None else None)
        )
        data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        response = getattr(self.client, method.lower())(
            path,
            data=data if payload is not None else None,
            content_type=extra.pop("content_type", "application/json"),
            **extra,
        )
        return response.status_code, response.json()

    def post(self, path: str, request: Any = None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return self.call("POST", path, request, **kwargs)

    def put(self, path: str, request: Any = None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return self.call("PUT", path, request, **kwargs)

    def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        return self.call("GET", path, **kwargs)

    def ok(self, method: str, path: str, request: Any = None) -> dict[str, Any]:
        """The ``result`` of a call that must succeed."""
        status, body = self.call(method, path, request)
        assert status == 200, body
        assert body["params"]["status"] == "success", body
        return body["result"]


@pytest.fixture(autouse=True)
def _database(db: None) -> None:
    """Every test may use the database (the embedded default keeps everything there)."""


@pytest.fixture
def api() -> Api:
    return Api()


def error_of(status_and_body: tuple[int, dict[str, Any]]) -> tuple[int, str, str]:
    status, body = status_and_body
    assert body["params"]["status"] == "failed", body
    assert body["result"] == {}, body
    return status, body["params"]["err"], body["params"]["errmsg"]


@pytest.fixture
def ms() -> Callable[..., int]:
    """Epoch milliseconds of a UTC datetime given as arguments, e.g. ms(2026, 8, 1)."""
    from datetime import UTC, datetime

    def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
        return timeutil.to_ms(datetime(year, month, day, hour, minute, tzinfo=UTC))  # type: ignore[return-value]

    return _ms


@pytest.fixture
def maths_catalogue(api: Api) -> None:
    """The catalogue of MODES.md's scenario tables."""
    api.ok(
        "PUT",
        "/v1/collection/class-1-maths",
        {
            "name": "Class 1 maths",
            "children": [{"identifier": "SDA"}, {"identifier": "DDA"}, {"identifier": "TDA"}],
        },
    )
    api.ok(
        "PUT",
        "/v1/collection/class-2-maths",
        {
            "name": "Class 2 maths",
            "children": [{"identifier": "SDA"}, {"identifier": "DDA"}],
        },
    )
    for context, collection, kind in [
        ("batch-1", "class-1-maths", "batch"),
        ("batch-2", "class-1-maths", "batch"),
        ("batch-1-c2", "class-2-maths", "batch"),
        ("program-batch-1", "class-1-maths", "program-batch"),
        ("program-abc", "class-1-maths", "program"),
    ]:
        api.ok(
            "PUT",
            f"/v1/context/{context}",
            {
                "type": kind,
                "collectionIds": [collection],
                "startDate": "2026-01-01",
            },
        )
