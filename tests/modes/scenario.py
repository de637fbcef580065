"""The vocabulary of MODES.md's scenario tables, over the HTTP API."""

from datetime import timedelta
from typing import Any

from modes.selectors import instance_config
from tests.conftest import Api
from viewer import timeutil

USER = "rahul"


def set_mode(mode: str, *, scope: str = "content", rules: dict[str, Any] | None = None) -> None:
    config = instance_config()
    config.mode, config.copy_scope, config.rules = mode, scope, rules
    config.full_clean()
    config.save()


def days_ago(days: float) -> int:
    return timeutil.to_ms(timeutil.now() - timedelta(days=days))  # type: ignore[return-value]


def target(content: str, collection: str | None = None, context: str | None = None) -> dict:
    request: dict[str, Any] = {"userId": USER, "contentId": content}
    if collection:
        request["collectionId"] = collection
    if context:
        request["contextId"] = context
    return request


def complete(
    api: Api,
    content: str,
    collection: str | None = None,
    context: str | None = None,
    *,
    ts: int | None = None,
) -> None:
    request = target(content, collection, context)
    if ts is not None:
        request["ts"] = ts
    api.ok("POST", "/v1/view/start", request)
    api.ok("POST", "/v1/view/end", request)


def opens(api: Api, content: str, collection: str | None = None, context: str | None = None) -> int:
    [row] = api.ok("POST", "/v1/view/read", target(content, collection, context))["contents"]
    return int(row["status"])


def enrol(api: Api, collection: str, context: str) -> None:
    api.ok("POST", "/v1/enrol", {"userId": USER, "collectionId": collection, "contextId": context})


def put_context(
    api: Api,
    identifier: str,
    collection: str,
    *,
    start: str = "2026-01-01",
    end: str | None = None,
    kind: str = "batch",
) -> None:
    body: dict[str, Any] = {"type": kind, "collectionIds": [collection], "startDate": start}
    if end:
        body["endDate"] = end
    api.ok("PUT", f"/v1/context/{identifier}", body)


def now_iso() -> str:
    return timeutil.iso(timeutil.now())  # type: ignore[return-value]
