"""Every row of every scenario table of MODES.md (content, collection, copy, move), over the
API, on whichever store the suite runs on. Time-dependent rows use `ts` and context dates."""

import pytest

from summaries.selectors import enrolment_progress, enrolments_of_user
from tests.conftest import Api
from tests.modes.scenario import (
    USER,
    complete,
    days_ago,
    enrol,
    now_iso,
    opens,
    put_context,
    set_mode,
    target,
)

C1, C2 = "class-1-maths", "class-2-maths"
COPY_RULES = {
    "match": "any",
    "rules": [
        {"type": "completedWithin", "unit": "months", "value": 3},
        {"type": "withinContextDuration"},
    ],
}

# --- content -------------------------------------------------------------------------------

CONTENT_TABLE = [
    ("SDA via class-1-maths/batch-1", ("SDA", C1, "batch-1"), 2),
    ("SDA organic", ("SDA", None, None), 2),
    ("SDA via class-1-maths/batch-2", ("SDA", C1, "batch-2"), 2),
    ("SDA via class-2-maths/batch-1-c2", ("SDA", C2, "batch-1-c2"), 2),
]


@pytest.mark.parametrize(
    ("opened", "expected"), [r[1:] for r in CONTENT_TABLE], ids=[r[0] for r in CONTENT_TABLE]
)
def test_content_mode_scenario(
    api: Api, maths_catalogue: None, opened: tuple, expected: int
) -> None:
    set_mode("content")
    complete(api, "SDA", C1, "batch-1")
    assert opens(api, *opened) == expected


def test_content_mode_summary_counts_the_leaf_rows(api: Api, maths_catalogue: None) -> None:
    set_mode("content")
    complete(api, "SDA", C1, "batch-1")
    progress = enrolment_progress(user_id=USER, collection_id=C1, context_id="batch-1")
    assert (progress.percent, progress.status) == (33, 1)
    assert progress.content_status == {"SDA": 2, "DDA": 0, "TDA": 0}


# --- collection ----------------------------------------------------------------------------

COLLECTION_TABLE = [
    ("SDA via class-1-maths/batch-1", ("SDA", C1, "batch-1"), 2),
    ("SDA organic", ("SDA", None, None), 0),
    ("SDA via class-1-maths/batch-2", ("SDA", C1, "batch-2"), 2),
    ("SDA via class-2-maths/batch-1-c2", ("SDA", C2, "batch-1-c2"), 0),
    ("SDA via class-1-maths/program-abc", ("SDA", C1, "program-abc"), 2),
]


@pytest.mark.parametrize(
    ("opened", "expected"), [r[1:] for r in COLLECTION_TABLE], ids=[r[0] for r in COLLECTION_TABLE]
)
def test_collection_mode_scenario(
    api: Api, maths_catalogue: None, opened: tuple, expected: int
) -> None:
    set_mode("collection")
    complete(api, "SDA", C1, "batch-1")
    assert opens(api, *opened) == expected


# --- copy, scope content -------------------------------------------------------------------


def copy_content_story(api: Api, *, sda_days_ago: float = 1) -> None:
    set_mode("copy", scope="content", rules=COPY_RULES)
    complete(api, "SDA", ts=days_ago(sda_days_ago))
    enrol(api, C1, "batch-1")
    complete(api, "DDA", C1, "batch-1")


@pytest.mark.parametrize(
    ("opened", "expected"),
    [
        (("SDA", C1, "batch-1"), 2),
        (("SDA", None, None), 2),
        (("DDA", None, None), 0),  # copies go into contexts, never out
    ],
    ids=["SDA via class-1-maths/batch-1", "SDA organic", "DDA organic"],
)
def test_copy_content_scenario(
    api: Api, maths_catalogue: None, opened: tuple, expected: int
) -> None:
    copy_content_story(api)
    assert opens(api, *opened) == expected


@pytest.mark.parametrize(
    ("completed_days_ago", "expected"),
    [(30, 2), (120, 0)],
    ids=[
        "enrolled 1 month after the SDA completion",
        "enrolled 4 months after (batch-2 starts at enrolment)",
    ],
)
def test_copy_content_scenario_batch_2(
    api: Api, maths_catalogue: None, completed_days_ago: int, expected: int
) -> None:
    copy_content_story(api, sda_days_ago=completed_days_ago)
    put_context(api, "batch-2", C1, start=now_iso())
    enrol(api, C1, "batch-2")
    assert opens(api, "SDA", C1, "batch-2") == expected


def test_copy_content_scenario_later_organic_completion_is_copied(
    api: Api, maths_catalogue: None
) -> None:
    copy_content_story(api)
    assert opens(api, "TDA", C1, "batch-1") == 0
    complete(api, "TDA")  # organically, batch-1 ongoing
    assert opens(api, "TDA", C1, "batch-1") == 2


def test_copy_content_scenario_explain(api: Api, maths_catalogue: None) -> None:
    copy_content_story(api)
    result = api.ok("POST", "/v1/view/explain", target("SDA", C1, "batch-1"))
    assert result["mode"] == "copy"
    assert result["key"] == {
        "userId": USER,
        "collectionId": C1,
        "contextId": "batch-1",
        "contentId": "SDA",
    }
    assert result["status"] == 2
    [step] = result["provenance"]
    assert step["action"] == "copy"
    assert step["from"] == {"collectionId": "SDA", "contextId": "SDA", "contentId": "SDA"}
    assert step["rule"] == "completedWithin 3 months"
    assert result["explanation"].startswith("Copied from (SDA, SDA, SDA) on ") and result[
        "explanation"
    ].endswith("by completedWithin 3 months.")
    tracked = api.ok("POST", "/v1/view/explain", target("DDA", C1, "batch-1"))
    assert (tracked["provenance"], tracked["explanation"]) == (
        [],
        "Tracked here (no carry-forward).",
    )


def test_copy_never_lowers_or_rewrites_a_complete_target(api: Api, maths_catalogue: None) -> None:
    set_mode("copy", scope="content", rules=COPY_RULES)
    complete(api, "SDA", C1, "batch-1", ts=days_ago(5))
    complete(api, "SDA", ts=days_ago(1))
    enrol(api, C1, "batch-1")
    explained = api.ok("POST", "/v1/view/explain", target("SDA", C1, "batch-1"))
    assert explained["provenance"] == []  # its own completion stays


# --- copy, scope collection ----------------------------------------------------------------


def copy_collection_story(api: Api, *, dda_days_ago: float = 1) -> None:
    set_mode("copy", scope="collection", rules=COPY_RULES)
    complete(api, "SDA", ts=days_ago(1))
    enrol(api, C1, "batch-1")
    complete(api, "DDA", C1, "batch-1", ts=days_ago(dda_days_ago))
    enrol(api, C2, "batch-1-c2")


@pytest.mark.parametrize(
    ("opened", "expected"),
    [
        (("SDA", C1, "batch-1"), 0),  # organic completions are not sources
        (("SDA", None, None), 2),
        (("DDA", None, None), 0),
        (("DDA", C2, "batch-1-c2"), 2),
    ],
    ids=[
        "SDA via class-1-maths/batch-1",
        "SDA organic",
        "DDA organic",
        "DDA via class-2-maths/batch-1-c2",
    ],
)
def test_copy_collection_scenario(
    api: Api, maths_catalogue: None, opened: tuple, expected: int
) -> None:
    copy_collection_story(api)
    assert opens(api, *opened) == expected


@pytest.mark.parametrize(
    ("completed_days_ago", "expected"),
    [(30, 2), (120, 0)],
    ids=["enrolled 1 month after the DDA completion", "enrolled 4 months after"],
)
def test_copy_collection_scenario_batch_2(
    api: Api, maths_catalogue: None, completed_days_ago: int, expected: int
) -> None:
    copy_collection_story(api, dda_days_ago=completed_days_ago)
    put_context(api, "batch-2", C1, start=now_iso())
    enrol(api, C1, "batch-2")
    assert opens(api, "DDA", C1, "batch-2") == expected


def test_copy_collection_scenario_organic_completion_is_not_copied(
    api: Api, maths_catalogue: None
) -> None:
    copy_collection_story(api)
    complete(api, "TDA")
    assert opens(api, "TDA", C1, "batch-1") == 0


# --- move ----------------------------------------------------------------------------------


def move_story(api: Api, *, expire_batch_1: bool = False) -> None:
    set_mode("move", rules={"rules": [{"type": "ongoingContext"}]})
    enrol(api, C1, "batch-1")
    complete(api, "SDA", C1, "batch-1", ts=days_ago(2))
    if expire_batch_1:
        put_context(api, "batch-1", C1, start="2026-01-01", end="2026-01-31")
    enrol(api, C1, "program-batch-1")


MOVE_TABLE = [
    ("SDA via class-1-maths/program-batch-1", ("SDA", C1, "program-batch-1"), 2),
    ("SDA via class-1-maths/batch-1 (moved)", ("SDA", C1, "batch-1"), 0),
    ("SDA organic", ("SDA", None, None), 0),
    ("SDA via class-1-maths/batch-2", ("SDA", C1, "batch-2"), 0),
]


@pytest.mark.parametrize(
    ("opened", "expected"), [r[1:] for r in MOVE_TABLE], ids=[r[0] for r in MOVE_TABLE]
)
def test_move_scenario(api: Api, maths_catalogue: None, opened: tuple, expected: int) -> None:
    move_story(api)
    assert opens(api, *opened) == expected


def test_move_scenario_summary_list(api: Api, maths_catalogue: None) -> None:
    move_story(api)
    active = {e.context_id: e.active for e in enrolments_of_user(user_id=USER)}
    assert active == {"batch-1": False, "program-batch-1": True}
    progress = enrolment_progress(user_id=USER, collection_id=C1, context_id="program-batch-1")
    assert progress.content_status["SDA"] == 2
    explained = api.ok("POST", "/v1/view/explain", target("SDA", C1, "program-batch-1"))
    assert explained["provenance"][0]["action"] == "move"
    assert explained["provenance"][0]["from"]["contextId"] == "batch-1"
    assert explained["provenance"][0]["rule"] == "ongoingContext"


def test_move_scenario_expired_source_moves_nothing(api: Api, maths_catalogue: None) -> None:
    move_story(api, expire_batch_1=True)
    assert opens(api, "SDA", C1, "batch-1") == 2
    assert opens(api, "SDA", C1, "program-batch-1") == 0
    active = {e.context_id: e.active for e in enrolments_of_user(user_id=USER)}
    assert active == {"batch-1": True, "program-batch-1": True}
