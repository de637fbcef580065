"""The summary APIs: list, read, delete (one scope or all), download."""

import csv
import io
import json
from pathlib import Path

from django.test import override_settings

from consumption.repositories import consumption_repository
from summaries.repositories import aggregate_repository, enrolment_repository
from tests.conftest import Api, error_of
from tests.modes.scenario import USER, complete, enrol

C1 = "class-1-maths"


def _story(api: Api) -> None:
    enrol(api, C1, "batch-1")
    enrol(api, "class-2-maths", "batch-1-c2")
    complete(api, "SDA", C1, "batch-1")
    complete(api, "DDA")  # organic


def test_summary_list_has_the_seed_shape(api: Api, maths_catalogue: None) -> None:
    _story(api)
    summaries = api.ok("GET", f"/v1/summary/list/{USER}")["summary"]
    assert {(s["collectionId"], s["contextId"]) for s in summaries} == {
        (C1, "batch-1"),
        ("class-2-maths", "batch-1-c2"),
    }
    first = next(s for s in summaries if s["collectionId"] == C1)
    assert set(first) == {
        "userId",
        "collectionId",
        "contextId",
        "enrolledDate",
        "active",
        "contentStatus",
        "assessmentStatus",
        "collection",
        "issuedCertificates",
        "completedOn",
        "progress",
        "status",
        "lastUpdatedOn",
        "pending",
    }
    assert first["contentStatus"] == {"SDA": 2, "DDA": 0, "TDA": 0}
    assert (first["progress"], first["status"], first["active"], first["pending"]) == (
        33,
        1,
        True,
        False,
    )
    assert first["collection"] == {
        "identifier": C1,
        "name": "Class 1 maths",
        "logo": "",
        "leafNodesCount": 3,
        "description": "",
    }
    assert isinstance(first["enrolledDate"], int) and isinstance(first["lastUpdatedOn"], int)


def test_summary_read_one_and_404(api: Api, maths_catalogue: None) -> None:
    _story(api)
    body = {"userId": USER, "collectionId": C1, "contextId": "batch-1"}
    summary = api.ok("POST", "/v1/summary/read", body)["summary"]
    assert (summary["collectionId"], summary["progress"]) == (C1, 33)
    status, err, _ = error_of(api.post("/v1/summary/read", {**body, "contextId": "batch-2"}))
    assert (status, err) == (404, "RESOURCE_NOT_FOUND")


def test_summary_delete_one_scope_leaves_nothing_orphaned(api: Api, maths_catalogue: None) -> None:
    _story(api)
    body = {"collectionId": C1, "contextId": "batch-1"}
    assert api.ok("DELETE", f"/v1/summary/delete/{USER}", body) == {}
    assert enrolment_repository().get(user_id=USER, collection_id=C1, context_id="batch-1") is None
    assert aggregate_repository().get(user_id=USER, collection_id=C1, context_id="batch-1") is None
    left = {
        (r.key.collection_id, r.key.context_id)
        for r in consumption_repository().list_user(user_id=USER)
    }
    assert left == {("DDA", "DDA")}
    read = api.ok(
        "POST",
        "/v1/view/read",
        {"userId": USER, "contentId": "SDA", "collectionId": C1, "contextId": "batch-1"},
    )
    assert read["contents"][0]["status"] == 0  # the status map forgot it too
    assert [s["collectionId"] for s in api.ok("GET", f"/v1/summary/list/{USER}")["summary"]] == [
        "class-2-maths"
    ]


def test_summary_delete_all(api: Api, maths_catalogue: None) -> None:
    _story(api)
    assert api.ok("DELETE", f"/v1/summary/delete/{USER}?all=true") == {}
    assert consumption_repository().list_user(user_id=USER) == []
    assert enrolment_repository().list_for_user(user_id=USER) == []
    assert api.ok("GET", f"/v1/summary/list/{USER}") == {"summary": []}


def test_summary_delete_refuses_another_users_body(api: Api, maths_catalogue: None) -> None:
    body = {"userId": "someone-else", "collectionId": C1, "contextId": "batch-1"}
    status, err, errmsg = error_of(api.call("DELETE", f"/v1/summary/delete/{USER}", body))
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert "request.userId" in errmsg


def test_summary_download_link_really_downloads(
    api: Api, maths_catalogue: None, tmp_path: Path
) -> None:
    _story(api)
    with override_settings(MEDIA_ROOT=str(tmp_path)):
        url = api.ok("GET", f"/v1/summary/download/{USER}")["url"]
        assert url.startswith("http://testserver/v1/summary/file/")
        assert url.endswith(f"/{USER}_viewer_summary.json")
        response = api.client.get(url)
        assert response.status_code == 200
        data = json.loads(response.getvalue())
        assert data["userId"] == USER and len(data["summary"]) == 2
        url = api.ok("GET", f"/v1/summary/download/{USER}?format=csv")["url"]
        rows = list(csv.DictReader(io.StringIO(api.client.get(url).getvalue().decode())))
        assert {r["collectionId"] for r in rows} == {C1, "class-2-maths"}
        tampered = url.replace("/file/", "/file/x")
        assert api.client.get(tampered).status_code == 403
        with override_settings(VIEWER_DOWNLOAD_LINK_SECONDS=-1):
            assert api.client.get(url).status_code == 403  # expired
    status, err, _ = error_of(api.get(f"/v1/summary/download/{USER}?format=xml"))
    assert (status, err) == (400, "INVALID_PARAMETER")


def test_summary_shows_the_best_score_of_each_assessment(api: Api, maths_catalogue: None) -> None:
    enrol(api, C1, "batch-1")

    def submit(attempt: str, ts: int, scores: list[float]) -> None:
        events = [
            {
                "eid": "ASSESS",
                "ets": ts,
                "edata": {"item": {"id": f"q{i}", "maxscore": 1}, "score": score},
            }
            for i, score in enumerate(scores)
        ]
        api.ok(
            "POST",
            "/v1/assessment/submit",
            {
                "userId": USER,
                "contentId": "TDA",
                "collectionId": C1,
                "contextId": "batch-1",
                "attemptId": attempt,
                "assessmentTs": ts,
                "events": events,
            },
        )

    submit("a1", 1_780_000_000_000, [1.0, 1.0, 0.0])
    submit("a2", 1_780_000_100_000, [1.0, 0.33, 0.0])
    summary = api.ok(
        "POST", "/v1/summary/read", {"userId": USER, "collectionId": C1, "contextId": "batch-1"}
    )["summary"]
    assert summary["assessmentStatus"] == {"TDA": {"score": 2.0, "max_score": 3.0}}
    assert summary["contentStatus"]["TDA"] == 2  # an assessment completes the content
    assert summary["progress"] == 33


def test_summary_download_of_a_256_character_user_id(api: Api, tmp_path: Path) -> None:
    """Found by the schema fuzzer: the file name must stay within file-system limits."""
    user = "u" * 256
    with override_settings(MEDIA_ROOT=str(tmp_path)):
        url = api.ok("GET", f"/v1/summary/download/{user}")["url"]
        assert api.client.get(url).status_code == 200
