"""manage.py archive_consumption: rows and attempts of enrolments completed long ago leave the
store for gzip JSON Lines files, and every read API answers as before (on the store the suite
runs on: VIEWER_STORE=sql or cassandra)."""

import gzip
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse

from assessments.repositories import attempt_repository
from consumption.repositories import consumption_repository
from summaries import services
from summaries.archive import archive_run
from summaries.repositories import enrolment_repository
from tests.conftest import Api, error_of
from tests.modes.scenario import USER, days_ago, enrol, target
from viewer import timeutil
from viewer.identifiers import Scope

pytestmark = pytest.mark.usefixtures("maths_catalogue")

C1, C2 = "class-1-maths", "class-2-maths"
OLD = (C1, "batch-1")  # completed 40 days ago: archived by --older-than 30
RECENT = (C1, "batch-2")  # completed today: kept
ONGOING = (C2, "batch-1-c2")  # not completed: kept
SCOPES = [OLD, RECENT, ONGOING]


def _view(api: Api, action: str, content: str, scope: tuple[str, str], **extra: Any) -> None:
    api.ok("POST", f"/v1/view/{action}", {**target(content, *scope), **extra})


def _attempt(
    api: Api, content: str, scope: tuple[str, str], attempt_id: str, ts: int, scores: list[float]
) -> None:
    events = [
        {"eid": "ASSESS", "ets": ts, "edata": {"item": {"id": f"q{i}", "maxscore": 1}, "score": s}}
        for i, s in enumerate(scores)
    ]
    request = {
        **target(content, *scope),
        "attemptId": attempt_id,
        "assessmentTs": ts,
        "events": events,
    }
    api.ok("POST", "/v1/assessment/submit", request)


def _story(api: Api) -> None:
    """OLD: complete 40 days ago, with attempts, progress details and an extra content left in
    progress; RECENT: complete today; ONGOING: one content of two; and an organic view."""
    enrol(api, *OLD)
    long_ago = days_ago(40)
    for content in ("SDA", "DDA"):
        _view(api, "start", content, OLD, ts=long_ago)
        _view(api, "update", content, OLD, ts=long_ago, progress=50, progressDetails={"at": 3})
        _view(api, "end", content, OLD, ts=long_ago + 1000)
    _view(api, "start", "EXTRA", OLD, ts=long_ago)
    _view(api, "update", "EXTRA", OLD, ts=long_ago, progress=20, timeSpent=7.5, progressDetails={})
    _attempt(api, "TDA", OLD, "a1", days_ago(41), [1, 0, 0])
    _attempt(api, "TDA", OLD, "a2", days_ago(40.5), [1, 1, 0])
    _attempt(api, "TDA", OLD, "a3", days_ago(40.4), [1, 1, 0])  # a tie: the earlier wins
    enrol(api, *RECENT)
    for content in ("SDA", "DDA", "TDA"):
        _view(api, "start", content, RECENT)
        _view(api, "end", content, RECENT)
    _attempt(api, "TDA", RECENT, "r1", days_ago(0.01), [1, 1, 1])
    enrol(api, *ONGOING)
    _view(api, "start", "SDA", ONGOING, ts=long_ago)
    _view(api, "end", "SDA", ONGOING, ts=long_ago)
    api.ok("POST", "/v1/view/start", target("DDA"))
    api.ok("POST", "/v1/view/end", target("DDA"))


def _legacy_answers(api: Api) -> dict[str, Any]:
    """The legacy APIs' answers, when the legacy app is installed."""
    try:
        reverse("legacy-enrolment-list", args=[USER])
    except NoReverseMatch:
        return {}
    answers: dict[str, Any] = {"list": api.ok("GET", f"/v1/user/enrollment/list/{USER}")}
    for collection, context in SCOPES:
        request = {"userId": USER, "courseId": collection, "batchId": context}
        answers[f"state {collection} {context}"] = api.ok("POST", "/v1/content/state/read", request)
        answers[f"scores {collection} {context}"] = api.ok(
            "POST", "/v1/content/state/read", {**request, "fields": ["progress", "score"]}
        )
    return answers


def _answers(api: Api) -> dict[str, Any]:
    """Every read API's answer about the story (whole results)."""
    answers: dict[str, Any] = {
        "summary list": api.ok("GET", f"/v1/summary/list/{USER}"),
        "organic": api.ok("POST", "/v1/view/read", target("DDA")),
        "legacy": _legacy_answers(api),
    }
    for collection, context in SCOPES:
        scope = {"userId": USER, "collectionId": collection, "contextId": context}
        name = f"{collection} {context}"
        answers[f"summary {name}"] = api.ok("POST", "/v1/summary/read", scope)
        answers[f"views {name}"] = api.ok("POST", "/v1/view/read", scope)
        contents = ["SDA", "DDA", "TDA", "EXTRA", "NEVER"]
        answers[f"view list {name}"] = api.ok(
            "POST", "/v1/view/read", {**scope, "contentId": contents}
        )
        for content in contents:
            answers[f"explain {name} {content}"] = api.ok(
                "POST", "/v1/view/explain", {**scope, "contentId": content}
            )
        answers[f"assessments {name}"] = api.ok("POST", "/v1/assessment/read", scope)
    return answers


def _without_archived_detail(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers less what archiving cannot keep, for OLD only: progressDetails and the
    individual attempts (README: what archiving keeps)."""
    name = f"{OLD[0]} {OLD[1]}"
    result = json.loads(json.dumps(answers))
    for key in (f"views {name}", f"view list {name}"):
        for content in result[key]["contents"]:
            content["progressDetails"] = None
    result[f"assessments {name}"]["attempts"] = []
    for key in (f"state {name}", f"scores {name}"):
        for item in result["legacy"].get(key, {}).get("contentList", []):
            item["progressdetails"] = None
            if item.get("score"):
                # Only the best attempt is kept, without its time.
                best = min(item["score"], key=lambda a: -a["total_score"])
                item["score"] = [{**best, "last_attempted_on": None}]
    return result


def _store(user_id: str = USER) -> dict[str, Any]:
    """Everything stored for the user: rows (as stored), attempts and archived scores."""
    rows = sorted(consumption_repository().list_user(user_id=user_id), key=lambda r: r.key)
    attempts = {
        (collection, context): attempt_repository().list_scope(
            user_id=user_id, collection_id=collection, context_id=context
        )
        for collection, context in SCOPES
    }
    archived = attempt_repository().archived_scores(user_id=user_id, scopes=SCOPES)
    scores = {scope: archived.get(scope, {}) for scope in SCOPES}
    return {"rows": rows, "attempts": attempts, "scores": scores}


def _archive(tmp_path: Path, *extra: str) -> str:
    out = io.StringIO()
    call_command(
        "archive_consumption",
        "--older-than",
        "30",
        "--out",
        str(tmp_path),
        "--no-progress",
        *extra,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


def _lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt") as file:
        return [json.loads(line) for line in file]


def test_archive_keeps_every_read_answer(api: Api, tmp_path: Path) -> None:
    _story(api)
    before = _answers(api)
    stored = _store()
    output = _archive(tmp_path)
    [path] = tmp_path.iterdir()
    assert "archived: 1 enrolment scope(s)" in output, output
    assert "consumption rows: 4 exported, 4 deleted, 0 kept" in output, output
    assert "attempts: 3 exported, 3 deleted, 0 kept" in output, output
    after = _answers(api)
    assert before["legacy"] or "legacy" not in settings.INSTALLED_APPS
    # Only what archiving documents as lost differs, and only for the archived scope.
    assert after == _without_archived_detail(before)
    name = f"{OLD[0]} {OLD[1]}"
    details = {c["contentId"]: c["progressDetails"] for c in before[f"views {name}"]["contents"]}
    assert details == {"DDA": {"at": 3}, "EXTRA": {}, "SDA": {"at": 3}, "TDA": None}
    assert {c["progressDetails"] for c in after[f"views {name}"]["contents"]} == {None}
    assert after[f"assessments {name}"]["best"] == before[f"assessments {name}"]["best"]
    assert after[f"assessments {name}"]["best"]["TDA"]["attemptId"] == "a2"
    assert after[f"assessments {name}"]["best"]["TDA"]["attempts_count"] == 3
    # The store: no live row or attempt left in OLD; the other scopes untouched.
    now = _store()
    assert now["attempts"][OLD] == [] and len(stored["attempts"][OLD]) == 3
    assert now["attempts"][RECENT] == stored["attempts"][RECENT]
    old_rows = [r for r in stored["rows"] if (r.key.collection_id, r.key.context_id) == OLD]
    kept = [r for r in now["rows"] if (r.key.collection_id, r.key.context_id) != OLD]
    assert kept == [r for r in stored["rows"] if r not in old_rows]
    [archive_row] = [r for r in now["rows"] if (r.key.collection_id, r.key.context_id) == OLD]
    assert archive_row.key.content_id == ""
    # The file holds the run header, then every archived row and attempt as it was stored.
    assert path.name.startswith("viewer-archive-") and path.name.endswith(".jsonl.gz")
    lines = _lines(path)
    assert lines[0]["table"] == "_run"
    exported_rows = [x for x in lines if x["table"] == "user_content_consumption"]
    assert sorted((x["contentId"], x["status"], x["progressDetails"]) for x in exported_rows) == [
        ("DDA", 2, {"at": 3}),
        ("EXTRA", 1, {}),
        ("SDA", 2, {"at": 3}),
        ("TDA", 2, None),
    ]
    by_content = {x["contentId"]: x for x in exported_rows}
    for row in old_rows:
        line = by_content[row.key.content_id]
        assert (line["userId"], line["collectionId"], line["contextId"]) == (USER, *OLD)
        assert line["progress"] == row.progress and line["timeSpent"] == row.time_spent
        assert line["lastAccessTime"] == timeutil.to_ms(row.last_access_time)
        assert line["lastCompletedTime"] == timeutil.to_ms(row.last_completed_time)
        assert line["lastUpdatedTime"] == timeutil.to_ms(row.last_updated_time)
    exported_attempts = sorted(
        (x for x in lines if x["table"] == "assessment_aggregator"), key=lambda x: x["attemptId"]
    )
    assert [(x["attemptId"], x["totalScore"], x["grandTotal"]) for x in exported_attempts] == [
        ("a1", 1.0, "1.0/3.0"),
        ("a2", 2.0, "2.0/3.0"),
        ("a3", 2.0, "2.0/3.0"),
    ]
    assert [q["id"] for q in exported_attempts[0]["questions"]] == ["q0", "q1", "q2"]


def test_archive_dry_run_changes_nothing(api: Api, tmp_path: Path) -> None:
    _story(api)
    before, stored = _answers(api), _store()
    output = _archive(tmp_path, "--dry-run")
    assert "would archive: 1 enrolment scope(s)" in output, output
    assert "consumption rows: 4" in output and "attempts: 3" in output, output
    assert "dry run: nothing written, nothing deleted" in output
    assert list(tmp_path.iterdir()) == []
    assert _store() == stored
    assert _answers(api) == before


def test_archive_second_run_is_a_no_op(api: Api, tmp_path: Path) -> None:
    _story(api)
    _archive(tmp_path / "first")
    after_first, stored = _answers(api), _store()
    output = _archive(tmp_path / "second")
    assert "archived: 0 enrolment scope(s)" in output, output
    assert "nothing to archive: no file written" in output
    assert not (tmp_path / "second").exists() or list((tmp_path / "second").iterdir()) == []
    assert _store() == stored
    assert _answers(api) == after_first


def test_archive_leaves_recent_and_unfinished_enrolments(api: Api, tmp_path: Path) -> None:
    _story(api)
    stored = _store()
    report = archive_run(older_than=timedelta(days=30), directory=tmp_path)
    assert (report.users, report.enrolments, report.eligible, report.scopes) == (1, 3, 1, 1)
    now = _store()
    for scope in (RECENT, ONGOING):
        rows = [r for r in now["rows"] if (r.key.collection_id, r.key.context_id) == scope]
        assert rows == [
            r for r in stored["rows"] if (r.key.collection_id, r.key.context_id) == scope
        ]
    organic = [r for r in now["rows"] if r.key.collection_id == "DDA"]
    assert len(organic) == 1
    # --older-than 0 then takes the recent one too, never the unfinished one.
    report = archive_run(older_than=timedelta(0), directory=tmp_path)
    assert report.scopes == 1 and report.eligible == 2
    ongoing = [r for r in _store()["rows"] if (r.key.collection_id, r.key.context_id) == ONGOING]
    assert [r.key.content_id for r in ongoing] == ["SDA"]


def _frozen(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    monkeypatch.setattr(timeutil, "now", lambda: at)


def test_archive_then_recompute_keeps_the_summary(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _story(api)
    scope = {"user_id": USER, "collection_id": OLD[0], "context_id": OLD[1]}
    at = timeutil.now()
    with monkeypatch.context() as patch:
        _frozen(patch, at)
        services.summary_recompute(**scope)
    before = _answers(api)
    _archive(tmp_path)
    with monkeypatch.context() as patch:
        _frozen(patch, at)
        services.summary_recompute(**scope)
    after = _answers(api)
    assert after == _without_archived_detail(before)
    summary = after[f"summary {OLD[0]} {OLD[1]}"]["summary"]
    assert summary["contentStatus"] == {"SDA": 2, "DDA": 2, "TDA": 2}
    assert summary["assessmentStatus"] == {"TDA": {"score": 2.0, "max_score": 3.0}}
    assert (summary["status"], summary["progress"]) == (2, 100)


def test_archive_row_changed_after_the_scan_stays(api: Api) -> None:
    _story(api)
    scope = Scope(USER, *OLD)
    repository = consumption_repository()
    read = [
        r
        for r in repository.list_user(user_id=USER)
        if (r.key.collection_id, r.key.context_id) == OLD
    ]
    # A view of EXTRA lands after the rows were read (and exported).
    _view(api, "update", "EXTRA", OLD, progress=60, progressDetails={"late": True})
    deleted = repository.archive_scope(scope=scope, rows=read, at=timeutil.now())
    assert sorted(k.content_id for k in deleted) == ["DDA", "SDA", "TDA"]
    [extra] = api.ok("POST", "/v1/view/read", target("EXTRA", *OLD))["contents"]
    assert (extra["status"], extra["progress"], extra["progressDetails"]) == (1, 60, {"late": True})
    # The attempt replaced after the scan stays too.
    attempts = attempt_repository().list_scope(
        user_id=USER, collection_id=OLD[0], context_id=OLD[1]
    )
    _attempt(api, "TDA", OLD, "a1", days_ago(39), [1, 1, 1])
    count = attempt_repository().archive_scope(
        user_id=USER, collection_id=OLD[0], context_id=OLD[1], attempts=attempts, at=timeutil.now()
    )
    assert count == 2
    best = api.ok(
        "POST", "/v1/assessment/read", {"userId": USER, "collectionId": OLD[0], "contextId": OLD[1]}
    )
    assert [a["attemptId"] for a in best["attempts"]] == ["a1"]
    assert best["best"]["TDA"] == {
        "score": 3.0,
        "max_score": 3.0,
        "attemptId": "a1",
        "attempts_count": 3,
    }


def test_archive_then_views_of_archived_contents(api: Api, tmp_path: Path) -> None:
    _story(api)
    _archive(tmp_path)
    # Updating or ending a content archived complete answers as for a complete row.
    _view(api, "update", "SDA", OLD, progress=10, progressDetails={"again": 1})
    _view(api, "end", "SDA", OLD)
    # One archived in progress must be started again, like any row not in the store.
    status, err, _ = error_of(
        api.post("/v1/view/update", {**target("EXTRA", *OLD), "progressDetails": {}})
    )
    assert (status, err) == (400, "VIEW_NOT_STARTED")
    # Opened again: a live row beside the archived one; the status never goes down.
    _view(api, "start", "SDA", OLD)
    _view(api, "start", "EXTRA", OLD)
    _view(api, "update", "EXTRA", OLD, progress=5, progressDetails={"p": 1})
    rows = api.ok(
        "POST",
        "/v1/view/read",
        {"userId": USER, "collectionId": OLD[0], "contextId": OLD[1]},
    )["contents"]
    by_content = {r["contentId"]: r for r in rows}
    assert (by_content["SDA"]["status"], by_content["SDA"]["progress"]) == (2, 100)
    assert by_content["EXTRA"]["progress"] == 20  # the archived 20 over the new 5
    assert by_content["EXTRA"]["progressDetails"] == {"p": 1}
    assert by_content["EXTRA"]["timeSpent"] == 7.5


def test_summary_delete_removes_what_archiving_kept(api: Api, tmp_path: Path) -> None:
    _story(api)
    _archive(tmp_path)
    body = {"collectionId": OLD[0], "contextId": OLD[1]}
    assert api.ok("DELETE", f"/v1/summary/delete/{USER}", body) == {}
    stored = _store()
    assert [r for r in stored["rows"] if (r.key.collection_id, r.key.context_id) == OLD] == []
    assert stored["scores"][OLD] == {}
    assert enrolment_repository().get(user_id=USER, collection_id=OLD[0], context_id=OLD[1]) is None


def test_summary_delete_after_archiving_leaves_no_status_behind(api: Api, tmp_path: Path) -> None:
    """The status map reloads archived contents' statuses from the archive row; deleting the
    scope must drop them too, or a read would still show the deleted contents complete."""
    _story(api)
    _archive(tmp_path)
    read = {"userId": USER, "collectionId": OLD[0], "contextId": OLD[1], "contentId": ["SDA"]}
    assert api.ok("POST", "/v1/view/read", read)["contents"][0]["status"] == 2
    api.ok("DELETE", f"/v1/summary/delete/{USER}", {"collectionId": OLD[0], "contextId": OLD[1]})
    assert api.ok("POST", "/v1/view/read", read)["contents"][0]["status"] == 0
