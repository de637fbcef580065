"""Aggregation: the Sunbird fixtures, completion is terminal, completedOn, fan-out, webhooks."""

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.test import override_settings

from summaries.domain import aggregate
from summaries.models import PendingAnnouncementRecord
from summaries.repositories import aggregate_repository
from summaries.selectors import enrolments_of_user
from summaries.services import summary_recompute
from tests.conftest import Api
from tests.modes.scenario import USER, complete, days_ago, enrol, set_mode
from viewer import timeutil
from viewer.catalogue import Collection, nodes_from_json

T = datetime(2026, 8, 1, tzinfo=UTC)
FIXTURE = Collection(
    identifier="course",
    name="c",
    children=nodes_from_json(
        [
            {"identifier": "unit1", "children": [{"identifier": "C299"}]},
            {"identifier": "unit2", "children": [{"identifier": "C300"}]},
            {"identifier": "unit3", "children": [{"identifier": "C301"}, {"identifier": "C300"}]},
        ]
    ),
)


def test_aggregate_sunbird_fixture_unit_and_course_counts() -> None:
    rows = {"C299": (2, T), "C300": (2, T), "C301": (1, None)}
    result = aggregate(user_id="u", context_id="b", collection=FIXTURE, rows=rows, scores={}, at=T)
    assert result.unit_counts == {"unit1": 1, "unit2": 1, "unit3": 1}
    assert (result.completed_count, result.required_count) == (2, 3)
    assert (result.progress, result.status, result.completed_on) == (66, 1, None)
    assert result.content_status == {"C299": 2, "C300": 2, "C301": 1}


def test_aggregate_completion_time_is_the_latest_required_completion() -> None:
    rows = {"C299": (2, T), "C300": (2, T + timedelta(days=2)), "C301": (2, T + timedelta(days=1))}
    result = aggregate(
        user_id="u",
        context_id="b",
        collection=FIXTURE,
        rows=rows,
        scores={},
        at=T + timedelta(days=30),
    )
    assert (result.progress, result.status) == (100, 2)
    assert result.completed_on == T + timedelta(days=2)


def test_aggregate_optional_leaves_do_not_count() -> None:
    collection = Collection(
        identifier="c",
        name="c",
        children=nodes_from_json(
            [
                {"identifier": "a"},
                {"identifier": "b", "optional": True},
            ]
        ),
    )
    result = aggregate(
        user_id="u", context_id="x", collection=collection, rows={"a": (2, T)}, scores={}, at=T
    )
    assert (result.completed_count, result.required_count, result.status) == (1, 1, 2)


def _enrolment(collection: str = "class-1-maths", context: str = "batch-1") -> Any:
    return next(
        e
        for e in enrolments_of_user(user_id=USER)
        if (e.collection_id, e.context_id) == (collection, context)
    )


def test_recompute_after_view_end_updates_enrolment_and_aggregates(
    api: Api, maths_catalogue: None
) -> None:
    enrol(api, "class-1-maths", "batch-1")
    complete(api, "SDA", "class-1-maths", "batch-1", ts=days_ago(3))
    enrolment = _enrolment()
    assert (enrolment.progress, enrolment.status, enrolment.completed_on) == (33, 1, None)
    stored = aggregate_repository().get(
        user_id=USER, collection_id="class-1-maths", context_id="batch-1"
    )
    assert stored is not None
    assert stored.content_status == {"SDA": 2, "DDA": 0, "TDA": 0}
    assert stored.aggregates["completedCount"] == 1.0


def test_recompute_leaves_an_unchanged_enrolment_unwritten(api: Api, maths_catalogue: None) -> None:
    enrol(api, "class-1-maths", "batch-1")
    complete(api, "SDA", "class-1-maths", "batch-1", ts=days_ago(3))
    before = _enrolment()
    summary_recompute(user_id=USER, collection_id="class-1-maths", context_id="batch-1")
    assert _enrolment() == before  # last_updated_time included: no write
    complete(api, "DDA", "class-1-maths", "batch-1", ts=days_ago(2))
    after = _enrolment()
    assert (after.progress, after.status) == (66, 1)
    assert after.last_updated_time is not None and before.last_updated_time is not None
    assert after.last_updated_time > before.last_updated_time


def test_completion_is_terminal_and_completed_on_is_the_last_completion(
    api: Api, maths_catalogue: None
) -> None:
    enrol(api, "class-1-maths", "batch-1")
    for days, content in ((5, "SDA"), (3, "TDA"), (4, "DDA")):
        complete(api, content, "class-1-maths", "batch-1", ts=days_ago(days))
    done = _enrolment()
    assert (done.progress, done.status) == (100, 2)
    assert abs((timeutil.now() - done.completed_on).total_seconds() - 3 * 86400) < 5
    # A leaf added later does not reopen it, and completedOn never moves.
    api.ok(
        "PUT",
        "/v1/collection/class-1-maths",
        {"name": "m", "children": [{"identifier": x} for x in ("SDA", "DDA", "TDA", "QDA")]},
    )
    summary_recompute(user_id=USER, collection_id="class-1-maths", context_id="batch-1")
    again = _enrolment()
    assert (again.status, again.progress, again.completed_on) == (2, 100, done.completed_on)


def test_fan_out_strict_is_the_single_enrolment(api: Api, maths_catalogue: None) -> None:
    enrol(api, "class-1-maths", "batch-1")
    enrol(api, "class-1-maths", "batch-2")
    complete(api, "SDA", "class-1-maths", "batch-1")
    assert _enrolment(context="batch-1").progress == 33
    assert _enrolment(context="batch-2").progress == 0


def test_fan_out_content_mode_recomputes_every_enrolment_containing_it(
    api: Api, maths_catalogue: None
) -> None:
    set_mode("content")
    enrol(api, "class-1-maths", "batch-1")
    enrol(api, "class-2-maths", "batch-1-c2")
    complete(api, "SDA")
    assert _enrolment().progress == 33
    assert _enrolment("class-2-maths", "batch-1-c2").progress == 50


def test_fan_out_collection_mode_recomputes_the_collections_enrolments(
    api: Api, maths_catalogue: None
) -> None:
    set_mode("collection")
    enrol(api, "class-1-maths", "batch-1")
    enrol(api, "class-1-maths", "program-abc")
    complete(api, "SDA", "class-1-maths", "batch-1")
    assert _enrolment(context="program-abc").progress == 33


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_url() -> Any:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/completed"
    server.shutdown()


def test_collection_completed_webhook_is_sent_once_signed(
    api: Api, maths_catalogue: None, webhook_url: str
) -> None:
    with override_settings(VIEWER_COMPLETION_WEBHOOKS=[webhook_url], VIEWER_WEBHOOK_SECRET="s3"):
        enrol(api, "class-1-maths", "batch-1")
        for content in ("SDA", "DDA", "TDA"):
            complete(api, content, "class-1-maths", "batch-1")
        for _ in range(3):  # duplicated or retried recomputes change nothing
            summary_recompute(user_id=USER, collection_id="class-1-maths", context_id="batch-1")
    [(headers, body)] = _Hook.received
    event = json.loads(body)
    assert (event["event"], event["userId"], event["collectionId"], event["contextId"]) == (
        "collection.completed",
        USER,
        "class-1-maths",
        "batch-1",
    )
    expected = "sha256=" + hmac.new(b"s3", body, hashlib.sha256).hexdigest()
    assert headers["X-Viewer-Signature"] == expected
    assert headers["Idempotency-Key"] == f"collection.completed:{USER}:class-1-maths:batch-1"


def test_completion_announcement_left_by_a_crash_is_sent_by_the_sweep_once(
    api: Api, maths_catalogue: None, webhook_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies between the enrolment's terminal write and handing the event to the
    fan-out task (or the broker is down then): the outbox keeps it, the sweep sends it, once."""
    from summaries import coordination, services, tasks

    class NothingDirty:
        def stale_users(self) -> list[str]:
            return []

    monkeypatch.setattr(coordination, "coordinator", NothingDirty)
    with override_settings(VIEWER_COMPLETION_WEBHOOKS=[webhook_url]):
        enrol(api, "class-1-maths", "batch-1")
        with monkeypatch.context() as patch:
            patch.setattr(services, "announce", lambda **scope: None)  # the crash
            for content in ("SDA", "DDA", "TDA"):
                complete(api, content, "class-1-maths", "batch-1")
        assert _enrolment().status == 2 and _Hook.received == []
        assert services.announcements_left() == []  # young: its writer may still hand it over
        # Five minutes later (not by moving the clock: the Cassandra driver's client-side
        # timestamps would stay in the future for the rest of the suite).
        PendingAnnouncementRecord.objects.update(created_at=timeutil.now() - timedelta(minutes=5))
        tasks.sweep_task.apply()
        tasks.sweep_task.apply()  # a second sweep finds nothing left
        # A late duplicate of the fan-out task sends nothing either.
        tasks.completion_webhooks_task.apply(args=(USER, "class-1-maths", "batch-1"))
    assert len(_Hook.received) == 1
    assert json.loads(_Hook.received[0][1])["collectionId"] == "class-1-maths"


def test_webhook_retries_wait_less_than_the_broker_visibility_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by bench/soak: a killed worker's message stayed unacknowledged for kombu's default
    hour, so its completion webhook came an hour late. The broker redelivers after
    CELERY_BROKER_TRANSPORT_OPTIONS' visibility timeout; a delivery's retry must wait less than
    that (plus its 10 s request), or the waiting retry would be delivered twice."""
    import socket

    from django.conf import settings

    from summaries import tasks

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"  # nothing listens there
    countdowns: list[float] = []

    def retry(*args: Any, countdown: float, **kwargs: Any) -> Exception:
        countdowns.append(countdown)
        return RuntimeError("retried")

    monkeypatch.setattr(tasks.deliver_webhook_task, "retry", retry)
    task = tasks.deliver_webhook_task
    for attempt in range(task.max_retries):
        with pytest.raises(RuntimeError, match="retried"):
            task.apply(args=(dead, USER, "c1", "b1", 1), retries=attempt, throw=True)
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert len(countdowns) == task.max_retries
    assert all(0 <= c <= tasks.WEBHOOK_RETRY_MAX_SECONDS for c in countdowns)
    assert tasks.WEBHOOK_RETRY_MAX_SECONDS + 10 < visibility < 3600


def test_recompute_without_enrolment_does_nothing(api: Api, maths_catalogue: None) -> None:
    assert summary_recompute(user_id=USER, collection_id="class-1-maths", context_id="b") is None
    assert (
        aggregate_repository().get(user_id=USER, collection_id="class-1-maths", context_id="b")
        is None
    )


def test_recompute_summaries_command_repairs_a_stale_summary(
    api: Api, maths_catalogue: None
) -> None:
    import io

    from django.core.management import call_command

    enrol(api, "class-1-maths", "batch-1")
    complete(api, "SDA", "class-1-maths", "batch-1")
    aggregate_repository().delete(
        user_id=USER, collection_id="class-1-maths", context_id="batch-1", unit_ids=[]
    )
    for args in ([], ["--user", USER], ["--collection", "class-1-maths"]):
        out = io.StringIO()
        call_command("recompute_summaries", *args, stdout=out, stderr=io.StringIO())
        assert out.getvalue().strip() == "recomputed 1 of 1 enrolment(s)"
    stored = aggregate_repository().get(
        user_id=USER, collection_id="class-1-maths", context_id="batch-1"
    )
    assert stored is not None and stored.content_status["SDA"] == 2


def test_completion_follow_up_failing_in_the_request_goes_to_the_workers(
    api: Api, maths_catalogue: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from summaries import receivers, services

    calls: list[str] = []
    real = services.completion_followup

    def flaky(**kwargs: Any) -> Any:
        calls.append("call")
        if len(calls) == 1:
            raise ConnectionError("redis went away")
        return real(**kwargs)

    monkeypatch.setattr(receivers, "completion_followup", flaky)
    monkeypatch.setattr("summaries.tasks.completion_followup", flaky)
    enrol(api, "class-1-maths", "batch-1")
    complete(api, "SDA", "class-1-maths", "batch-1")  # the write answers 200 regardless
    assert len(calls) == 2
    assert _enrolment().progress == 33
