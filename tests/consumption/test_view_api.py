"""POST /v1/view/start, /update, /end, /read: the consumption contract of DESIGN.md §4."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Api, error_of
from viewer import events

KEY = {"userId": "u1", "contentId": "c1", "collectionId": "C1", "contextId": "B1"}


def read_one(api: Api, **key: Any) -> dict[str, Any]:
    request = {**KEY, **key}
    request.pop("ts", None)
    contents = api.ok("POST", "/v1/view/read", request)["contents"]
    assert len(contents) == 1
    return contents[0]


def test_view_start_creates_an_in_progress_row(api: Api) -> None:
    assert api.ok("POST", "/v1/view/start", KEY) == {"c1": "Progress started"}
    row = read_one(api)
    assert (row["status"], row["progress"], row["progressDetails"]) == (1, 0, None)
    assert isinstance(row["lastAccessTime"], int)
    assert row["lastCompletedTime"] is None


def test_view_start_twice_keeps_the_row(api: Api, ms: Callable[..., int]) -> None:
    api.ok("POST", "/v1/view/start", {**KEY, "ts": ms(2026, 8, 1)})
    api.ok("POST", "/v1/view/update", {**KEY, "progressDetails": {"p": 1}, "progress": 30})
    api.ok("POST", "/v1/view/start", KEY)
    row = read_one(api)
    assert (row["status"], row["progress"], row["progressDetails"]) == (1, 30, {"p": 1})


@pytest.mark.parametrize("endpoint", ["/v1/view/update", "/v1/view/end"])
def test_view_write_without_start_is_view_not_started(api: Api, endpoint: str) -> None:
    status, err, errmsg = error_of(api.post(endpoint, {**KEY, "progressDetails": {}}))
    assert (status, err) == (400, "VIEW_NOT_STARTED")
    assert "'c1'" in errmsg and "/v1/view/start" in errmsg
    assert read_one(api)["status"] == 0


def test_view_update_needs_progress_details(api: Api) -> None:
    api.ok("POST", "/v1/view/start", KEY)
    status, err, errmsg = error_of(api.post("/v1/view/update", KEY))
    assert (status, err) == (400, "MANDATORY_PARAMETER_MISSING")
    assert errmsg == "request.progressDetails: This field is required."


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("progressDetails", "x", "request.progressDetails: Must be a JSON object."),
        ("progress", 101, "request.progress: Must be between 0 and 100."),
        ("progress", -1, "request.progress: Must be between 0 and 100."),
        ("progress", "50", "request.progress: Must be a number."),
        ("timeSpent", -5, "request.timeSpent: Must be between 0"),
        ("timeSpent", True, "request.timeSpent: Must be a number."),
    ],
)
def test_view_update_rejects_bad_values(api: Api, field: str, value: Any, fragment: str) -> None:
    api.ok("POST", "/v1/view/start", KEY)
    body = {**KEY, "progressDetails": {}, field: value}
    status, err, errmsg = error_of(api.post("/v1/view/update", body))
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert fragment in errmsg


def test_view_update_keeps_the_highest_progress_and_time(api: Api) -> None:
    api.ok("POST", "/v1/view/start", KEY)
    api.ok(
        "POST",
        "/v1/view/update",
        {**KEY, "progressDetails": {"page": 4}, "progress": 40.7, "timeSpent": 120},
    )
    assert api.ok(
        "POST",
        "/v1/view/update",
        {**KEY, "progressDetails": {"page": 2}, "progress": 20, "timeSpent": 60},
    ) == {"c1": "Progress updated"}
    row = read_one(api)
    assert (row["status"], row["progress"], row["timeSpent"]) == (1, 40, 120)
    assert row["progressDetails"] == {"page": 2}  # the latest state of the player


def test_view_end_completes_once_and_never_moves(api: Api, ms: Callable[..., int]) -> None:
    api.ok("POST", "/v1/view/start", {**KEY, "ts": ms(2026, 8, 1)})
    assert api.ok(
        "POST", "/v1/view/end", {**KEY, "ts": ms(2026, 8, 2), "progressDetails": {"page": 10}}
    ) == {"c1": "Progress ended"}
    row = read_one(api)
    assert (row["status"], row["progress"]) == (2, 100)
    assert row["lastCompletedTime"] == ms(2026, 8, 2)
    assert row["progressDetails"] == {"page": 10}
    # A revisit after completion changes nothing: not the status, not the completion time.
    api.ok("POST", "/v1/view/start", KEY)
    api.ok("POST", "/v1/view/update", {**KEY, "progressDetails": {"page": 1}, "progress": 5})
    api.ok("POST", "/v1/view/end", {**KEY, "ts": ms(2026, 9, 1)})
    assert read_one(api) == row


def test_view_ts_backdates_offline_events(api: Api, ms: Callable[..., int]) -> None:
    api.ok("POST", "/v1/view/start", {**KEY, "ts": ms(2020, 1, 1)})
    assert read_one(api)["lastAccessTime"] == ms(2020, 1, 1)
    api.ok("POST", "/v1/view/update", {**KEY, "ts": ms(2020, 1, 3), "progressDetails": {}})
    # An older event synced late does not move the last access back.
    api.ok("POST", "/v1/view/update", {**KEY, "ts": ms(2020, 1, 2), "progressDetails": {}})
    assert read_one(api)["lastAccessTime"] == ms(2020, 1, 3)
    api.ok("POST", "/v1/view/end", {**KEY, "ts": ms(2020, 1, 4)})
    row = read_one(api)
    assert (row["lastAccessTime"], row["lastCompletedTime"]) == (ms(2020, 1, 4), ms(2020, 1, 4))


def test_view_read_lists_the_scope_or_the_requested_contents(api: Api) -> None:
    for content in ("c2", "c1"):
        api.ok("POST", "/v1/view/start", {**KEY, "contentId": content})
    api.ok("POST", "/v1/view/start", {**KEY, "contentId": "c3", "contextId": "B2"})
    result = api.ok(
        "POST", "/v1/view/read", {"userId": "u1", "collectionId": "C1", "contextId": "B1"}
    )
    assert (result["userId"], result["collectionId"], result["contextId"]) == ("u1", "C1", "B1")
    assert [c["contentId"] for c in result["contents"]] == ["c1", "c2"]
    listed = api.ok("POST", "/v1/view/read", {**KEY, "contentId": ["c2", "c9", "c1"]})
    assert [(c["contentId"], c["status"]) for c in listed["contents"]] == [
        ("c2", 1),
        ("c9", 0),
        ("c1", 1),
    ]


def test_view_read_needs_content_or_collection(api: Api) -> None:
    status, err, errmsg = error_of(api.post("/v1/view/read", {"userId": "u1"}))
    assert (status, err) == (400, "MANDATORY_PARAMETER_MISSING")
    assert errmsg == "request.contentId: Give contentId or collectionId."


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ([], "request.contentId: Must not be an empty list."),
        (["ok", 5], "request.contentId[1]: Must be a string."),
        (["x" * 300], "request.contentId: Must be at most 256 characters."),
        (["c"] * 1001, "request.contentId: Must list at most 1000 ids."),
        ({"a": 1}, "request.contentId: Must be a string or a list of strings."),
    ],
)
def test_view_read_rejects_bad_content_lists(api: Api, content: Any, fragment: str) -> None:
    status, err, errmsg = error_of(
        api.post("/v1/view/read", {"userId": "u1", "contentId": content})
    )
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert fragment in errmsg


def test_view_end_announces_a_completion_once(api: Api) -> None:
    seen: list[Any] = []

    def receiver(**kwargs: Any) -> None:
        seen.append(kwargs["key"])

    events.completion_recorded.connect(receiver)
    try:
        api.ok("POST", "/v1/view/start", KEY)
        api.ok("POST", "/v1/view/end", KEY)
        api.ok("POST", "/v1/view/end", KEY)
    finally:
        events.completion_recorded.disconnect(receiver)
    assert [(k.user_id, k.collection_id, k.context_id, k.content_id) for k in seen] == [
        ("u1", "C1", "B1", "c1")
    ]
