"""Open-loop driver of the aggregation benchmark (started by bench/aggregation/run.sh).

A warm-up phase on the warm-up users, a drain, then the measured phase: view ends at a fixed rate
on a fixed schedule (event i is due at t0 + i / rate, whatever the answers of earlier ones), each
a fresh completion of one (user, leaf) pair drawn from a seeded shuffle of all pairs, sent over
HTTP by a pool of sender threads (``http.client``; gunicorn's sync workers close every
connection, so each request opens one on loopback). A late answer does not delay later events:
request latency is measured from the scheduled time (no coordinated omission).

Lag, from the moment a view end's HTTP answer arrived to the moment the summary shows it, for
every view end: the workers run with ``bench.aggregation.probe``, which records each call of
``summary_recompute`` (when it returned, i.e. the aggregate row and the enrolment's progress are
written, and which contents the summary shows at status 2); a view end is shown by the first
summary of its user written with its content at 2 (status 2 is terminal, so every later summary
shows it too). No read of the store is needed.

Cross-check from outside the workers: every ``--sample-every``-th view end is also followed by a
poller that reads the enrolment's collection row of ``user_activity_agg`` — the row ``POST
/v1/summary/read`` answers ``contentStatus`` from — through the Cassandra driver (reading it
through the API would queue the polls behind the view ends on the same two gunicorn workers and
measure that queue). Every ``--poll-ms`` it reads, in one ``user_id IN (...)`` query per 100
users, the users with a followed view end that is due: a view end is polled again
``max(poll-ms, poll-growth x its age)`` after the last poll that did not show it (the error stays
under 100 ms or 5 %, and a long lag does not turn the poller into a load of its own). The polled
lag (to the answer of the first poll showing it: an upper bound; the last poll not showing it
gives the lower bound) must agree with the recorded one within the poll interval. The poller's
own cost on Cassandra is calibrated after the run. A view end not shown by the end of the drain
counts as an infinite lag.

Recomputes: the same probe records every task (published, began, ended, state, result) and every
summary written, so recomputes are counted exactly (``summaries.recompute`` tasks also return how
many they ran: both are reported). Coalescing ratio = view ends that completed a content ÷
summaries recomputed (the measured phase and its drain).

After the drain every measured user's summary is checked against the view ends it received
(no update lost), and a few through ``POST /v1/summary/read``.
"""

import argparse
import contextlib
import http.client
import json
import os
import queue
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import ids
from .probe import RECOMPUTE, RECORDS

COURSE = "Course"
TARGET_LAG_P99_S = 2.0
IN_CHUNK = 100
WINDOW_S = 5.0


# --- small helpers ---------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def ms(value: float | None) -> str:
    if value == float("inf"):
        return "not seen"
    return "-" if value is None else f"{value * 1000:,.0f} ms"


def log(message: str) -> None:
    print(f"[drive {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the schedule ----------------------------------------------------------------------------
@dataclass
class Event:
    index: int
    user: str
    content: str
    sampled: bool
    scheduled: float = 0.0
    sent: float = 0.0
    done: float = 0.0
    status: int | None = None
    error: str | None = None
    shown: float | None = None  # the first summary written that shows it (probe records)
    seen: float | None = None  # answer of the first poll that showed it
    last_unseen: float | None = None  # sending of the last poll that did not
    next_poll: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


def plan(
    users: list[str], leaves: list[str], count: int, sample_every: int, seed: int
) -> list[Event]:
    """``count`` view ends, each a different (user, leaf) pair, in a seeded random order."""
    pairs = [(u, c) for u in users for c in leaves]
    if count > len(pairs):
        raise SystemExit(
            f"{count} view ends need {count} distinct (user, leaf) pairs; there are {len(pairs)}: "
            "more leaves or users, or a lower rate x duration"
        )
    random.Random(seed).shuffle(pairs)
    return [
        Event(index=i, user=u, content=c, sampled=i % sample_every == 0)
        for i, (u, c) in enumerate(pairs[:count])
    ]


# --- HTTP ------------------------------------------------------------------------------------
class Client:
    """One connection per sender thread, reopened whenever the server closes it."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, path: str, request: dict[str, Any]) -> tuple[int, bytes]:
        body = json.dumps({"request": request})
        try:
            self.conn.request("POST", path, body, self.headers)
            response = self.conn.getresponse()
            data = response.read()
            if response.will_close:
                self.conn.close()
            return response.status, data
        except Exception:
            self.conn.close()
            raise


def view_end_request(event: Event) -> dict[str, Any]:
    return {
        "userId": event.user,
        "contentId": event.content,
        "collectionId": ids.COLLECTION_ID,
        "contextId": ids.CONTEXT_ID,
    }


# --- the poller ------------------------------------------------------------------------------
class Poller(threading.Thread):
    """Follows sampled view ends until user_activity_agg shows them (see the module doc)."""

    def __init__(self, session: Any, keyspace: str, interval: float, growth: float) -> None:
        super().__init__(name="poller", daemon=True)
        self.session = session
        self.statement = session.prepare(
            f"SELECT user_id, content_status FROM {keyspace}.user_activity_agg "  # noqa: S608
            "WHERE activity_type = ? AND activity_id = ? AND user_id IN ? AND context_id = ?"
        )
        self.interval = interval
        self.growth = growth
        self.lock = threading.Lock()
        self.pending: dict[str, list[Event]] = defaultdict(list)
        self.stopping = threading.Event()
        self.queries = 0
        self.partitions = 0
        self.failures = 0

    def follow(self, event: Event) -> None:
        event.next_poll = event.done
        with self.lock:
            self.pending[event.user].append(event)

    def unseen(self) -> int:
        with self.lock:
            return sum(len(events) for events in self.pending.values())

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            with self.lock:
                snapshot = {
                    user: list(events)
                    for user, events in self.pending.items()
                    if any(e.next_poll <= started for e in events)
                }
            if snapshot:
                self.poll(snapshot)
            time.sleep(max(0.0, started + self.interval - time.monotonic()))

    def poll(self, snapshot: dict[str, list[Event]]) -> None:
        users = sorted(snapshot)
        sent = time.monotonic()
        chunks = [users[i : i + IN_CHUNK] for i in range(0, len(users), IN_CHUNK)]
        futures = [
            self.session.execute_async(
                self.statement, (COURSE, ids.COLLECTION_ID, chunk, ids.CONTEXT_ID)
            )
            for chunk in chunks
        ]
        statuses: dict[str, dict[str, int]] = {}
        failed: set[str] = set()
        for chunk, future in zip(chunks, futures, strict=True):
            try:
                rows = future.result()
            except Exception as exc:  # a slow or failed poll: try again on the next tick
                self.failures += 1
                failed.update(chunk)
                log(f"poll failed: {type(exc).__name__}: {exc}")
                continue
            for row in rows:
                statuses[row.user_id] = dict(row.content_status or {})
        answered = time.monotonic()
        self.queries += len(futures)
        self.partitions += len(users)
        with self.lock:
            for user, events in snapshot.items():
                if user in failed:
                    continue
                shown = statuses.get(user, {})
                for event in events:
                    if shown.get(event.content) == 2:
                        event.seen = answered
                        self.pending[user].remove(event)
                    else:
                        event.last_unseen = sent
                        event.next_poll = sent + max(
                            self.interval, self.growth * (sent - event.done)
                        )
                if not self.pending[user]:
                    del self.pending[user]


# --- broker / coordination monitoring --------------------------------------------------------
class Monitor(threading.Thread):
    """Samples the broker's backlog (messages waiting in the ``celery`` list, and messages taken
    by a worker but not acknowledged) every ``interval``, and every second the CPU that processes
    other than the benchmark's use (the machine is shared: a disturbed run must show)."""

    def __init__(self, broker: Any, groups: dict[str, list[int]], interval: float = 0.25) -> None:
        super().__init__(name="monitor", daemon=True)
        self.broker = broker
        self.groups = groups
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []
        self.others: list[tuple[float, float]] = []  # (at, cores used by others since last)
        self.stopping = threading.Event()

    def sample_others(self, last: tuple[float, float, float] | None) -> tuple[float, float, float]:
        procs = processes()
        ours = {p for roots in self.groups.values() for r in roots for p in tree(r, procs)}
        now, busy = time.monotonic(), machine_cpu()[0]
        own = sum(procs[p].cpu for p in ours if p in procs)
        if last is not None and now > last[0]:
            # Processes of ours that ended in between would count as others: none end mid-run.
            self.others.append(
                (now, max(0.0, (busy - last[1]) - (own - last[2])) / (now - last[0]))
            )
        return now, busy, own

    def run(self) -> None:
        last, ticks = None, 0
        while not self.stopping.wait(self.interval):
            if ticks % max(1, round(1 / self.interval)) == 0:
                with contextlib.suppress(OSError):
                    last = self.sample_others(last)
            ticks += 1
            try:
                pipe = self.broker.pipeline(transaction=False)
                pipe.llen("celery")
                pipe.hlen("unacked")
                waiting, unacked = pipe.execute()
            except Exception as exc:  # keep sampling
                log(f"monitor: {type(exc).__name__}")
                continue
            self.samples.append((time.monotonic(), int(waiting), int(unacked)))


# --- CPU accounting --------------------------------------------------------------------------
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    ppid: int
    name: str
    cpu: float  # seconds (user + system)


def processes() -> dict[int, Proc]:
    """Every process of the machine (kernel threads included)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        name = text[text.index("(") + 1 : text.rindex(")")]
        found[int(entry.name)] = Proc(
            int(fields[1]), name, (int(fields[11]) + int(fields[12])) / CLK_TCK
        )
    return found


def tree(root: int, procs: dict[int, Proc]) -> set[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for pid, proc in procs.items():
        children[proc.ppid].append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class CpuSnapshot:
    at: float
    procs: dict[int, Proc]
    machine: tuple[float, float]


def cpu_snapshot() -> CpuSnapshot:
    return CpuSnapshot(time.monotonic(), processes(), machine_cpu())


def cpu_usage(
    before: CpuSnapshot, after: CpuSnapshot, groups: dict[str, list[int]]
) -> tuple[dict[str, float], list[tuple[str, float]]]:
    """CPU seconds used between two snapshots: per group (process trees), and the three busiest
    other processes (name, seconds)."""

    def used(pid: int) -> float:
        proc = after.procs.get(pid)
        if proc is None:
            return 0.0
        earlier = before.procs.get(pid)
        return proc.cpu - (earlier.cpu if earlier is not None and earlier.name == proc.name else 0)

    mine: set[int] = set()
    per_group = {}
    for name, roots in groups.items():
        pids = set().union(*(tree(r, after.procs) | tree(r, before.procs) for r in roots))
        mine |= pids
        per_group[name] = sum(used(pid) for pid in pids)
    others = sorted(
        ((f"{after.procs[p].name} ({p})", used(p)) for p in after.procs if p not in mine),
        key=lambda item: -item[1],
    )
    return per_group, [item for item in others[:3] if item[1] >= 0.05]


def wait_idle(
    groups: dict[str, list[int]],
    timeout: float,
    others_limit: float = 0.10,
    own_limit: float = 0.30,
) -> str:
    """Wait (up to ``timeout`` s) until, over 2 s, processes other than ours use under
    ``others_limit`` of a core and our own stack (after the warm-up: Cassandra flushing and
    compacting) under ``own_limit``; a line for the report."""
    began = time.monotonic()
    while True:
        before = cpu_snapshot()
        time.sleep(2.0)
        after = cpu_snapshot()
        per_group, others = cpu_usage(before, after, groups)
        wall = after.at - before.at
        own = sum(per_group.values()) / wall
        other = (after.machine[0] - before.machine[0]) / wall - own
        waited = time.monotonic() - began
        state = (
            f"other processes used {100 * other:.0f} % of a core and the idle benchmark stack "
            f"{100 * own:.0f} % before the measured phase (waited {waited:.0f} s)"
        )
        if other < others_limit and own < own_limit:
            return state
        if waited >= timeout:
            return f"NOT IDLE: {state}; busiest others: {', '.join(n for n, _ in others)}"
        if int(waited) % 10 < 2:
            log(f"waiting for the machine to be idle: {state}")


# --- a phase ---------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    events: list[Event]
    started: float = 0.0
    drive_ended: float = 0.0
    drained: float = 0.0
    drained_ok: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)


def run_phase(
    phase: Phase,
    rate: float,
    senders: int,
    client_factory: Callable[[], Client],
    poller: Poller,
) -> None:
    work: queue.Queue[Event | None] = queue.Queue()

    def sender() -> None:
        client = client_factory()
        while (event := work.get()) is not None:
            event.sent = time.monotonic()
            try:
                event.status, body = client.post("/v1/view/end", view_end_request(event))
                if event.status != 200 or b'"responseCode":"OK"' not in body:
                    event.error = body[:200].decode(errors="replace")
            except Exception as exc:
                event.error = f"{type(exc).__name__}: {exc}"
            event.done = time.monotonic()
            if event.sampled and event.ok:
                poller.follow(event)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    t0 = time.monotonic() + 0.2
    phase.started = t0
    for event in phase.events:
        event.scheduled = t0 + event.index / rate
        delay = event.scheduled - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        work.put(event)
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    phase.drive_ended = time.monotonic()


def drain(poller: Poller, coordination: Any, broker: Any, timeout: float) -> tuple[float, bool]:
    """Wait until every followed view end was seen, the broker holds no message and no user has
    coordination keys (dirty, queued, lock) left; (when, whether it happened in time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pipe = broker.pipeline(transaction=False)
        pipe.llen("celery")
        pipe.hlen("unacked")
        waiting, unacked = pipe.execute()
        if not waiting and not unacked and not poller.unseen():
            busy = next(iter(coordination.scan_iter(match="viewer:agg:*", count=1000)), None)
            if busy is None:
                return time.monotonic(), True
        time.sleep(0.1)
    return time.monotonic(), False


def take_records(coordination: Any, offset: float) -> list[dict[str, Any]]:
    """The probe's task records so far (removed), times converted to this process's clock."""
    pipe = coordination.pipeline(transaction=True)
    pipe.lrange(RECORDS, 0, -1)
    pipe.delete(RECORDS)
    raw, _ = pipe.execute()
    records = []
    for item in raw:
        record = json.loads(item)
        for key in ("p", "b", "e"):
            if record.get(key) is not None:
                record[key] -= offset
        records.append(record)
    return records


# --- verification ----------------------------------------------------------------------------
def read_statuses(session: Any, keyspace: str, users: list[str]) -> dict[str, dict[str, int]]:
    statement = session.prepare(
        f"SELECT user_id, content_status FROM {keyspace}.user_activity_agg "  # noqa: S608
        "WHERE activity_type = ? AND activity_id = ? AND user_id IN ? AND context_id = ?"
    )
    result: dict[str, dict[str, int]] = {}
    for i in range(0, len(users), IN_CHUNK):
        rows = session.execute(
            statement, (COURSE, ids.COLLECTION_ID, users[i : i + IN_CHUNK], ids.CONTEXT_ID)
        )
        for row in rows:
            result[row.user_id] = dict(row.content_status or {})
    return result


def verify(
    phase: Phase, session: Any, keyspace: str, users: list[str], client: Client
) -> list[str]:
    """Problems found (empty: every measured user's summary shows exactly its view ends)."""
    expected: dict[str, set[str]] = defaultdict(set)
    for event in phase.events:
        if event.ok:
            expected[event.user].add(event.content)
    stored = read_statuses(session, keyspace, users)
    problems = []
    for user in users:
        shown = {c for c, s in stored.get(user, {}).items() if s == 2}
        if shown != expected[user]:
            problems.append(
                f"{user}: summary shows {sorted(shown)}, view ends {sorted(expected[user])}"
            )
    for user in random.Random(1).sample(users, min(5, len(users))):
        status, body = client.post(
            "/v1/summary/read",
            {"userId": user, "collectionId": ids.COLLECTION_ID, "contextId": ids.CONTEXT_ID},
        )
        summary = json.loads(body).get("result", {}).get("summary", {}) if status == 200 else {}
        api_shown = {c for c, s in (summary.get("contentStatus") or {}).items() if s == 2}
        if status != 200 or api_shown != expected[user] or summary.get("pending"):
            problems.append(f"summary/read of {user}: HTTP {status}, {body[:300]!r}")
    return problems[:20] + ([f"... {len(problems) - 20} more"] if len(problems) > 20 else [])


def calibrate_poller(
    poller: Poller, users: list[str], roots: list[int], partitions_per_s: float, seconds: float
) -> float:
    """Cassandra CPU seconds per partition the poller reads, on the now idle stack: alternating
    windows of no polling and of polling (IN queries of 100 users, at 5x the run's average rate
    for a clearer signal), Cassandra's CPU in the polling windows minus the idle ones."""

    def cassandra_cpu() -> float:
        procs = processes()
        return sum(procs[p].cpu for r in roots for p in tree(r, procs) if p in procs)

    log(f"calibrating the poller's cost on Cassandra: {seconds:g} s")
    window = seconds / 6
    interval = IN_CHUNK / max(5 * partitions_per_s, 100.0)
    idle = busy = 0.0
    polled = 0
    for _ in range(3):
        start = cassandra_cpu()
        time.sleep(window)
        idle += cassandra_cpu() - start
        start, began, sent = cassandra_cpu(), time.monotonic(), 0
        while time.monotonic() - began < window:
            offset = (sent * IN_CHUNK) % max(1, len(users) - IN_CHUNK)
            poller.session.execute(
                poller.statement,
                (COURSE, ids.COLLECTION_ID, users[offset : offset + IN_CHUNK], ids.CONTEXT_ID),
            )
            sent += 1
            time.sleep(max(0.0, began + sent * interval - time.monotonic()))
        busy += cassandra_cpu() - start
        polled += sent * IN_CHUNK
    return max(0.0, busy - idle) / max(1, polled)


# --- the report ------------------------------------------------------------------------------
def task_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_name[record["n"]].append(record)
    rows = []
    for name in sorted(by_name):
        items = by_name[name]
        states = Counter(r["s"] for r in items)
        waits = [r["b"] - r["p"] for r in items if r.get("p") is not None]
        runs = [r["e"] - r["b"] for r in items]
        rows.append(
            [
                name,
                f"{len(items):,}",
                ", ".join(f"{s} {n:,}" for s, n in sorted(states.items())),
                ms(percentile(waits, 50)),
                ms(percentile(waits, 99)),
                ms(percentile(runs, 50)),
                ms(percentile(runs, 99)),
                f"{sum(runs):.1f}",
            ]
        )
    return rows


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [line.format(*header), line.format(*["-" * w for w in widths])] + [
        line.format(*r) for r in rows
    ]


def summaries_written(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The probe's records of summary_recompute calls (one per summary written)."""
    return [r for r in records if r["n"] == RECOMPUTE]


def attach_shown(events: list[Event], records: list[dict[str, Any]]) -> None:
    """Each view end's ``shown``: when the first summary showing it was written."""
    by_user: dict[str, list[tuple[float, set[str]]]] = defaultdict(list)
    for r in summaries_written(records):
        by_user[r["u"]].append((r["e"], set(r["c"])))
    for writes in by_user.values():
        writes.sort(key=lambda w: w[0])
    for event in events:
        if event.ok:
            event.shown = next(
                (at for at, shown in by_user.get(event.user, []) if event.content in shown), None
            )


def lag_of(event: Event) -> float:
    return float("inf") if event.shown is None else max(0.0, event.shown - event.done)


def pair(low: float | None, high: float | None) -> str:
    return f"{ms(low)} / {ms(high)}"


def report(
    args: argparse.Namespace,
    phase: Phase,
    poller: Poller,
    monitor: Monitor,
    cpu: tuple[dict[str, float], list[tuple[str, float]], float, tuple[float, float]],
    poller_cost: float | None,
    problems: list[str],
    idle: str,
) -> tuple[list[str], bool]:
    events, records = phase.events, phase.records
    tasks = [r for r in records if r["n"] != RECOMPUTE]
    written = summaries_written(records)
    ok = [e for e in events if e.ok]
    errors = [e for e in events if not e.ok]
    t0 = phase.started
    drive_s = args.duration
    last_done = max((e.done for e in events), default=t0)
    achieved = len(ok) / (last_done - t0) if last_done > t0 else 0.0
    latency = [e.done - e.scheduled for e in events]
    service_time = [e.done - e.sent for e in events]

    lags = [lag_of(e) for e in ok]
    never = sum(1 for e in ok if e.shown is None)
    p99 = percentile(lags, 99)
    sampled = [e for e in ok if e.sampled]
    polled = [e.seen - e.done if e.seen is not None else float("inf") for e in sampled]
    polled_low = [
        max(0.0, (e.last_unseen or e.done) - e.done) if e.seen is not None else float("inf")
        for e in sampled
    ]
    unseen = sum(1 for e in sampled if e.seen is None)
    diffs = [e.seen - e.shown for e in sampled if e.seen is not None and e.shown is not None]

    recomputes = len(written)
    task_recomputes = sum(
        r["r"] or 0 for r in tasks if r["n"] == "summaries.recompute" and r["s"] == "SUCCESS"
    )
    during = sum(1 for r in written if t0 <= r["e"] < t0 + drive_s)
    last_write = max((r["e"] for r in written), default=t0)
    overall_rate = recomputes / (last_write - t0) if last_write > t0 else 0.0
    ratio = len(ok) / recomputes if recomputes else float("nan")
    retries = sum(1 for r in tasks if r["s"] == "RETRY")
    empty = sum(
        1 for r in tasks if r["n"] == "summaries.recompute" and r["s"] == "SUCCESS" and not r["r"]
    )
    met = (
        p99 is not None
        and p99 <= TARGET_LAG_P99_S
        and not errors
        and achieved >= 0.98 * args.rate
        and not problems
    )
    busy = sum(r["e"] - r["b"] for r in tasks if t0 <= r["b"] < t0 + drive_s)
    backlog = [(t, w, u) for t, w, u in monitor.samples if t0 <= t <= phase.drained]
    backlog_max = max((w + u for _, w, u in backlog), default=0)
    drive_end = t0 + drive_s
    at_drive_end = min(((abs(t - drive_end), w + u) for t, w, u in backlog), default=(0.0, 0))[1]
    span = max(1e-9, phase.drained - t0)
    foreign = [(t, c) for t, c in monitor.others if t0 < t <= phase.drained]
    others_mean = sum(c for _, c in foreign) / len(foreign) if foreign else 0.0
    disturbed = others_mean > 0.10

    out = [
        "Aggregation benchmark (bench/aggregation/run.sh), "
        + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        *[f"  {note}" for note in args.note],
        f"  load: {args.rate:g} view ends/s offered for {drive_s:g} s ({len(events):,} view ends, "
        f"open loop, {args.senders} senders), each a fresh completion of one (user, leaf) pair "
        f"of {args.users:,} users x {args.leaves} leaves; warm-up {args.warmup:g} s at "
        f"{args.warmup_rate:g}/s on {args.warm_users} other users, then drained",
        "  lag: HTTP answer of the view end -> the first summary written that shows it (every "
        "view end; worker-side record of summary_recompute); cross-checked by polling",
        f"       user_activity_agg for every {args.sample_every}th view end through the Cassandra "
        f"driver (every {args.poll_ms:g} ms, or {100 * args.poll_growth:g} % of its age)",
        f"  machine: {idle}",
        "",
    ]
    figures = [
        ["view ends offered / answered OK", f"{args.rate:g}/s / {len(ok):,} of {len(events):,}"],
        ["ACHIEVED VIEW ENDS/S", f"{achieved:,.1f}"],
        ["errors (non-200 or failed)", f"{len(errors):,}"],
        [
            "view/end latency p50 / p99 (from schedule)",
            pair(percentile(latency, 50), percentile(latency, 99)),
        ],
        [
            "view/end service time p50 / p99 (from send)",
            pair(percentile(service_time, 50), percentile(service_time, 99)),
        ],
        ["LAG p50 / p99 (view end -> summary)", pair(percentile(lags, 50), p99)],
        ["  lag max / view ends never shown", f"{ms(max(lags, default=None))} / {never:,}"],
        [
            f"  polled: p50 / p99 of {len(sampled):,}",
            pair(percentile(polled, 50), percentile(polled, 99)),
        ],
        [
            "  polled lower bound p50 / p99",
            pair(percentile(polled_low, 50), percentile(polled_low, 99)),
        ],
        [
            "  polled minus recorded p50 / p99 (same ends)",
            pair(percentile(diffs, 50), percentile(diffs, 99)),
        ],
        ["  polled view ends never seen", f"{unseen:,}"],
        ["RECOMPUTES (summaries written)", f"{recomputes:,} (tasks report {task_recomputes:,})"],
        ["RECOMPUTES/S during the drive", f"{during / drive_s:,.1f}"],
        ["recomputes/s until the last one", f"{overall_rate:,.1f}"],
        ["COALESCING RATIO (view ends / recomputes)", f"{ratio:.2f}"],
        ["recompute tasks with nothing left to do", f"{empty:,}"],
        ["task retries (user locked by the other worker)", f"{retries:,}"],
        [
            "broker backlog max / at the end of the drive",
            f"{backlog_max:,} / {at_drive_end:,} messages",
        ],
        [
            "drain after the drive",
            f"{phase.drained - phase.drive_ended:.1f} s"
            + ("" if phase.drained_ok else " (TIMED OUT)"),
        ],
        ["worker busy during the drive (2 workers)", f"{100 * busy / (2 * drive_s):.0f} %"],
        [
            "lag poller load",
            f"{poller.queries / span:,.0f} queries/s, {poller.partitions / span:,.0f} partitions/s",
        ],
        ["summaries checked after the drain", "OK" if not problems else f"{len(problems)} BAD"],
        [
            "other processes' CPU during the run, mean / max",
            f"{100 * others_mean:.0f} % / {100 * max((c for _, c in foreign), default=0):.0f} % "
            "of a core",
        ],
    ]
    out += table(figures, ["figure", "value"])
    out += [
        "",
        f"TARGET lag p99 <= {TARGET_LAG_P99_S:g} s at {args.rate:g} view ends/s: "
        + ("MET" if met else "NOT MET")
        + (
            f"  (DISTURBED: other processes used {100 * others_mean:.0f} % of a core on average; "
            "see the timeline, rerun on an idle machine)"
            if disturbed
            else ""
        ),
        "",
        "Where a view end's lag goes: the Celery tasks of the measured phase (wait = published ->"
        " began, in the broker; run = began -> ended):",
    ]
    rows = task_rows(tasks)
    runs = [r["e"] - r["b"] for r in written]
    rows.append(
        [
            "  summary_recompute() itself",
            f"{len(written):,}",
            "",
            "",
            "",
            ms(percentile(runs, 50)),
            ms(percentile(runs, 99)),
            f"{sum(runs):.1f}",
        ]
    )
    out += table(
        rows, ["task", "count", "states", "wait p50", "wait p99", "run p50", "run p99", "run s"]
    )

    per_group, others, wall, (machine_busy, machine_total) = cpu
    used = dict(per_group)
    used["everything else on the machine"] = machine_busy - sum(used.values())
    used["machine busy"] = machine_busy
    per_end = 1000 / max(1, len(ok))
    cpu_rows = [
        [name, f"{seconds:.1f}", f"{100 * seconds / wall:.0f} %", f"{seconds * per_end:.1f}"]
        for name, seconds in used.items()
    ]
    cpu_rows[-1][2] += f" ({100 * machine_busy / machine_total:.0f} % of all)"
    out += [
        "",
        f"CPU over the drive and the drain ({wall:.1f} s; 100 % = one core; per view end = CPU "
        "ms / view ends answered OK):",
    ]
    out += table(cpu_rows, ["process", "cpu s", "of a core", "ms per view end"])
    if others:
        out.append(
            "  busiest other processes: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in others)
        )
    if poller_cost is not None:
        cassandra = per_group.get("cassandra", 0.0)
        out.append(
            f"  the lag poller's own load on Cassandra (calibrated after the run): "
            f"~{poller_cost:.1f} CPU s"
            + (f" ({100 * poller_cost / cassandra:.0f} % of Cassandra's)" if cassandra else "")
        )

    out += ["", f"Timeline ({WINDOW_S:g} s windows from the first scheduled view end):"]
    rows = []
    end = max(phase.drained, t0 + drive_s)
    start = t0
    while start < end:
        stop = start + WINDOW_S
        done = [e for e in ok if start <= e.done < stop]
        window_lags = [lag_of(e) for e in done]
        completions = sum(
            1 for r in tasks if r["n"] == "summaries.completion" and start <= r["e"] < stop
        )
        window_written = sum(1 for r in written if start <= r["e"] < stop)
        window_backlog = max((w + u for t, w, u in backlog if start <= t < stop), default=0)
        window_others = [c for t, c in foreign if start < t <= stop]
        rows.append(
            [
                f"{start - t0:.0f}-{stop - t0:.0f} s",
                f"{len(done) / WINDOW_S:,.0f}",
                f"{completions / WINDOW_S:,.0f}",
                f"{window_written / WINDOW_S:,.0f}",
                f"{window_backlog:,}",
                ms(percentile(window_lags, 50)),
                ms(percentile(window_lags, 99)),
                f"{100 * sum(window_others) / max(1, len(window_others)):.0f} %",
            ]
        )
        start = stop
    out += table(
        rows,
        [
            "window (by answer)",
            "ends/s",
            "completion tasks/s",
            "recomputes/s",
            "backlog max",
            "lag p50",
            "lag p99",
            "others' CPU",
        ],
    )
    if errors:
        out += ["", "First errors:"] + [
            f"  {e.user} {e.content}: {e.status} {e.error}" for e in errors[:5]
        ]
    if problems:
        out += ["", "Summary check problems:"] + [f"  {p}" for p in problems]
    return out, met


def write_raw(directory: Path, phase: Phase, monitor: Monitor) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    t0 = phase.started
    with (directory / "view_ends.csv").open("w") as f:
        f.write(
            "index,user,content,scheduled_s,sent_s,done_s,status,shown_s,sampled,seen_s,error\n"
        )
        for e in phase.events:
            seen = "" if e.seen is None else f"{e.seen - t0:.4f}"
            shown = "" if e.shown is None else f"{e.shown - t0:.4f}"
            error = (e.error or "").replace(",", ";").replace("\n", " ")[:120]
            f.write(
                f"{e.index},{e.user},{e.content},{e.scheduled - t0:.4f},{e.sent - t0:.4f},"
                f"{e.done - t0:.4f},{e.status},{shown},{int(e.sampled)},{seen},{error}\n"
            )
    with (directory / "tasks.jsonl").open("w") as f:
        for record in phase.records:
            shifted = {
                k: (round(v - t0, 4) if k in "pbe" and v is not None else v)
                for k, v in record.items()
            }
            f.write(json.dumps(shifted) + "\n")
    with (directory / "backlog.csv").open("w") as f:
        f.write("t_s,waiting,unacked\n")
        for t, w, u in monitor.samples:
            f.write(f"{t - t0:.3f},{w},{u}\n")


# --- main ------------------------------------------------------------------------------------
def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--token", default="")
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--warmup", type=float, default=15.0)
    p.add_argument("--warmup-rate", type=float, default=100.0)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--warm-users", type=int, default=100)
    p.add_argument("--leaves", type=int, required=True)
    p.add_argument("--sample-every", type=int, default=20)
    p.add_argument("--poll-ms", type=float, default=100.0)
    p.add_argument("--poll-growth", type=float, default=0.05)
    p.add_argument("--senders", type=int, default=64)
    p.add_argument("--drain-timeout", type=float, default=600.0)
    p.add_argument("--idle-wait", type=float, default=300.0)
    p.add_argument(
        "--calibrate", type=float, default=12.0, help="s of poller-only load after the run (0: no)"
    )
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--pid", action="append", default=[], help="NAME=PID (a process tree)")
    p.add_argument("--note", action="append", default=[], help="a line for the report's head")
    p.add_argument("--results", type=Path, required=True)
    p.add_argument("--raw", type=Path)
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    import redis
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import RoundRobinPolicy

    keyspace = os.environ["CASSANDRA_KEYSPACE"]
    cluster = Cluster(
        contact_points=os.environ.get("CASSANDRA_HOSTS", "127.0.0.1").split(","),
        port=int(os.environ.get("CASSANDRA_PORT", "9042")),
        execution_profiles={
            EXEC_PROFILE_DEFAULT: ExecutionProfile(
                load_balancing_policy=RoundRobinPolicy(),
                consistency_level=ConsistencyLevel.ONE,
                request_timeout=10,
            )
        },
    )
    session = cluster.connect()
    coordination = redis.Redis.from_url(os.environ["REDIS_URL"])
    broker = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    offset = time.time() - time.monotonic()
    groups: dict[str, list[int]] = {}
    for item in args.pid:
        name, _, pid = item.partition("=")
        groups.setdefault(name, []).append(int(pid))
    groups["driver (this process)"] = [os.getpid()]

    leaves = ids.leaves(args.leaves)
    users = [ids.user_id(i) for i in range(args.users)]
    warm_users = [ids.warm_user_id(i) for i in range(args.warm_users)]

    def client_factory() -> Client:
        return Client(args.base_url, args.token)

    poller = Poller(session, keyspace, args.poll_ms / 1000, args.poll_growth)
    poller.start()
    monitor = Monitor(broker, groups)
    monitor.start()
    try:
        if args.warmup > 0:
            warm = Phase(
                "warm-up",
                plan(
                    warm_users,
                    leaves,
                    int(args.warmup_rate * args.warmup),
                    args.sample_every,
                    args.seed,
                ),
            )
            log(f"warm-up: {len(warm.events)} view ends at {args.warmup_rate:g}/s")
            run_phase(warm, args.warmup_rate, args.senders, client_factory, poller)
            warm.drained, warm.drained_ok = drain(poller, coordination, broker, args.drain_timeout)
            failed = sum(1 for e in warm.events if not e.ok)
            log(
                f"warm-up done: {failed} errors, drained in "
                f"{warm.drained - warm.drive_ended:.1f} s"
                + ("" if warm.drained_ok else " (TIMED OUT)")
            )
            if failed:
                bad = next(e for e in warm.events if not e.ok)
                log(f"first warm-up error: {bad.status} {bad.error}")
                return 1
            time.sleep(1.0)
        take_records(coordination, offset)  # the warm-up's tasks are not measured

        phase = Phase(
            "measured",
            plan(users, leaves, int(args.rate * args.duration), args.sample_every, args.seed + 1),
        )
        idle = wait_idle(groups, args.idle_wait) if args.idle_wait > 0 else "idle not checked"
        log(f"{idle}; measured phase: {len(phase.events):,} view ends at {args.rate:g}/s")
        before = cpu_snapshot()
        run_phase(phase, args.rate, args.senders, client_factory, poller)
        log(f"drive done in {phase.drive_ended - phase.started:.1f} s; draining")
        phase.drained, phase.drained_ok = drain(poller, coordination, broker, args.drain_timeout)
        after = cpu_snapshot()
        time.sleep(0.5)  # the last task records
        phase.records = take_records(coordination, offset)
        attach_shown(phase.events, phase.records)
        log(f"drained in {phase.drained - phase.drive_ended:.1f} s; checking the summaries")
        problems = verify(phase, session, keyspace, users, client_factory())
        poller.stopping.set()
        poller.join(timeout=5)
        poller_cost = None
        if args.calibrate > 0 and "cassandra" in groups and poller.partitions:
            per_partition = calibrate_poller(
                poller,
                users,
                groups["cassandra"],
                partitions_per_s=poller.partitions / (phase.drained - phase.started),
                seconds=args.calibrate,
            )
            poller_cost = per_partition * poller.partitions
    finally:
        poller.stopping.set()
        monitor.stopping.set()
        poller.join(timeout=5)
        monitor.join(timeout=5)
        cluster.shutdown()

    per_group, others = cpu_usage(before, after, groups)
    cpu = (
        per_group,
        others,
        after.at - before.at,
        (after.machine[0] - before.machine[0], after.machine[1] - before.machine[1]),
    )
    lines, met = report(args, phase, poller, monitor, cpu, poller_cost, problems, idle)
    text = "\n".join(lines) + "\n"
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text)
    if args.raw is not None:
        write_raw(args.raw, phase, monitor)
    log(f"report written to {args.results}" + (f", raw data in {args.raw}" if args.raw else ""))
    return 0 if met else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
