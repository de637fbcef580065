"""Per-user serialized, coalescing recomputes on real Redis, and with two real Celery worker
processes: never two recomputes of one user at once, no update lost, bursts coalesce, duplicated
tasks harmless, a lost message swept."""

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from modes.policies.base import EnrolmentRef
from summaries.coordination import Coordinator

pytestmark = pytest.mark.cassandra  # needs the suite's real Redis, like the Cassandra half

ROOT = Path(__file__).resolve().parent.parent.parent


def scope(name: str, user: str = "u1") -> EnrolmentRef:
    return EnrolmentRef(user, name, "ctx")


def test_coordination_burst_enqueues_once_and_recomputes_each_scope_once(
    coordinator: Coordinator,
) -> None:
    enqueued = [coordinator.mark([scope(f"c{i % 3}")]) for i in range(50)]
    assert enqueued[0] == ["u1"] and all(e == [] for e in enqueued[1:])
    seen: list[str] = []
    assert coordinator.run("u1", lambda s: seen.append(s.collection_id)) == 3
    assert sorted(seen) == ["c0", "c1", "c2"]
    # The queued flag is cleared: the next event enqueues again.
    assert coordinator.mark([scope("c0")]) == ["u1"]


def test_coordination_event_during_a_recompute_is_not_lost(coordinator: Coordinator) -> None:
    coordinator.mark([scope("a")])
    seen: list[str] = []

    def recompute(s: EnrolmentRef) -> None:
        seen.append(s.collection_id)
        if s.collection_id == "a":
            # Arrives while the user is being recomputed: no new task (the run holds the user)...
            coordinator.mark([scope("b")])

    assert coordinator.run("u1", recompute) == 2
    assert seen == ["a", "b"]  # ...and the run's next round picks it up


def test_coordination_one_user_at_a_time(coordinator: Coordinator) -> None:
    coordinator.mark([scope("a"), scope("x", user="u2")])
    inner: list[Any] = []

    def recompute(s: EnrolmentRef) -> None:
        inner.append(coordinator.run("u1", lambda _: None))  # a second worker, same user
        inner.append(coordinator.run("u2", lambda _: None))  # another user is not blocked

    coordinator.run("u1", recompute)
    assert inner == [None, 1]


def test_coordination_sweep_finds_a_lost_message(coordinator: Coordinator) -> None:
    assert coordinator.mark([scope("a")]) == ["u1"]
    assert coordinator.stale_users() == []  # its task is queued
    coordinator.client.delete("viewer:agg:queued:{u1}")  # the message was lost, the flag expired
    assert coordinator.stale_users() == ["u1"]
    assert coordinator.stale_users() == []  # and it is enqueued once


def test_coordination_scopes_of_a_round_killed_midway_are_not_lost(
    coordinator: Coordinator,
) -> None:
    coordinator.mark([scope("a"), scope("b")])

    def killed(s: EnrolmentRef) -> None:
        raise KeyboardInterrupt  # the worker dies during its first recompute

    with pytest.raises(KeyboardInterrupt):
        coordinator.run("u1", killed)
    coordinator.client.delete("viewer:agg:queued:{u1}")  # the flag expired
    # The sweep finds the scopes the dead worker had taken (its lock is gone)...
    assert coordinator.stale_users() == ["u1"]
    # ...and the redelivered (or swept) task recomputes both, then nothing is left.
    seen: list[str] = []
    assert coordinator.run("u1", lambda s: seen.append(s.collection_id)) == 2
    assert sorted(seen) == ["a", "b"]
    assert coordinator.client.keys("viewer:agg:*") == []


@pytest.fixture
def workers(coordinator: Coordinator) -> Iterator[Any]:
    """Two real Celery worker processes on the Redis broker."""
    from celery import Celery

    broker = settings.REDIS_URL
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    processes = [
        subprocess.Popen(  # noqa: S603 - celery from our own virtualenv
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "solo",
                "--include",
                "tests.worker_probe",
                "--hostname",
                f"probe{i}@%h",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(2)
    ]
    # Not the current app: the rest of the suite keeps running tasks eagerly.
    client = Celery(broker=broker, set_as_current=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = client.control.ping(timeout=0.5) or []
        if len(replies) >= 2:
            break
    else:
        for process in processes:
            process.kill()
        pytest.fail("the two Celery workers did not start within 60 s")
    yield client
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_coordination_with_two_real_workers(coordinator: Coordinator, workers: Any) -> None:
    users = ["w1", "w2", "w3"]
    marked_at: dict[tuple[str, str], float] = {}
    events = 0
    for burst in range(3):  # bursts of view ends, a pause between them
        for round_ in range(40):
            for user in users:
                name = f"c{round_ % 4}"
                marked_at[(user, name)] = time.time()
                for enqueue in coordinator.mark([scope(name, user)]):
                    workers.send_task("tests.probe_recompute", args=[enqueue])
                    if burst == 1:  # a duplicated message changes nothing
                        workers.send_task("tests.probe_recompute", args=[enqueue])
                events += 1
        time.sleep(0.3)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = [k for k in coordinator.client.scan_iter(match="viewer:agg:*")]
        if not busy:
            break
        time.sleep(0.1)
    assert not busy, busy
    recomputes = 0
    for user in users:
        runs = [json.loads(r) for r in coordinator.client.lrange(f"probe:{user}", 0, -1)]
        recomputes += len(runs)
        runs.sort(key=lambda r: r["start"])
        # Never two recomputes of one user at the same time.
        for before, after in itertools.pairwise(runs):
            assert before["end"] <= after["start"], (user, before, after)
        # No update lost: every scope was recomputed after its last event.
        for name in {n for (u, n) in marked_at if u == user}:
            last_run = max(r["end"] for r in runs if r["scope"] == name)
            assert last_run >= marked_at[(user, name)], (user, name)
    # Bursts coalesce: far fewer recomputes than events.
    assert recomputes <= events / 4, (recomputes, events)
