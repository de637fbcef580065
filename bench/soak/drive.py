"""Fault soak driver (started by bench/soak/run.sh; Django settings from the environment).

Load: ``--clients`` virtual learners run at once, each with its own learner token; each takes
the next generated user and plays that user's script: enrol in one or both batches, then for
every leaf of the course (interleaved between the batches) a view start, one to three progress
updates and a view end, or, for an assessment leaf, one or two attempts submitted; sometimes a
revisit of a completed leaf (start + update: must not lower anything); between the writes,
reads (view read of the batch's leaves, summary read, summary list). A client pauses
``--think-ms`` (uniform 0-2x) between requests. A write that gets a 503, a 5xx, no answer within
``--timeout`` or a connection error is retried (0.5, 1, 2 s later), as a player would: the
first 2xx acknowledges it; a 503 or a time-out never does. Every attempt is recorded.

Faults (at fractions of ``--duration``): a Redis restart (25 %; its data saved and reloaded, as a
broker with persistence is run — ``--redis-restart flush`` loses it instead), a SIGKILL of Celery
worker 1 (main process and pool child at once) restarted 5 s later (45 %), Cassandra frozen for
``--freeze`` seconds with SIGSTOP/SIGCONT of its JVM (65 %).

After the load: drain (broker queue and unacked messages empty, no coordination key left, stable
for 3 s), then the checks, from the store (the repositories, in this process) and the APIs:

* lost writes: every acknowledged start (row present, status >= 1), update (progress >= the
  acknowledged one, or completed), end and submit (status 2; the attempt present with its
  score), enrolment (present and active) — each looked for in the store and through the API;
* lowered statuses: every view read (and the final state) against the highest status
  acknowledged before the read was sent, every read against earlier reads that had answered
  before it was sent, and every summary read's status, progress and content statuses against
  earlier summary reads of the enrolment;
* summaries: each enrolment's ``POST /v1/summary/read`` against a recompute from scratch in this
  process (the rows through the mode's keys, the attempts' best scores,
  ``summaries.domain.aggregate``): content statuses, progress, status, completedOn, scores, and
  nothing pending;
* webhooks: the receiver's records against the enrolments completed: exactly one delivery per
  Idempotency-Key and per enrolment, none missing, none for an enrolment not completed, every
  signature valid.

Convergence after the last fault: from the end of the last fault to the later of the answer to
the last request that failed (503, 5xx, time-out, connection error) and the moment the work
backlog (broker queue + unacked + users with dirty scopes) first fell back to its level before
the first fault.
"""

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django

from . import ids

COLL = ids.COLLECTION_ID
RETRY_DELAYS = (0.5, 1.0, 2.0)
WRITES = ("enrol", "start", "update", "end", "submit")


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- what happened -------------------------------------------------------------------------------
@dataclass
class Attempt:
    op: str
    user: str
    context: str
    content: str
    sent: float
    done: float
    status: int | None  # HTTP status; None: no answer
    err: str  # envelope err code, or the client-side failure


def outcome(a: Attempt) -> str:
    if a.status is None:
        return "timeout" if a.err == "timeout" else "connection error"
    if 200 <= a.status < 300:
        return "2xx"
    if 400 <= a.status < 500:
        return "4xx"
    if a.status == 503:
        return "503"
    return "5xx (not 503)"


OUTCOMES = ("2xx", "4xx", "503", "5xx (not 503)", "timeout", "connection error")


@dataclass
class Journal:
    """Everything the clients saw (thread-safe appends)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list[Attempt] = field(default_factory=list)
    # (user, context, content) -> [(acknowledged at, status it implies)]
    status_acks: dict[tuple[str, str, str], list[tuple[float, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    progress_acks: dict[tuple[str, str, str], int] = field(default_factory=dict)
    enrol_acks: dict[tuple[str, str], float] = field(default_factory=dict)
    # (user, context, content, attemptId) -> (assessmentTs, total score)
    submit_acks: dict[tuple[str, str, str, str], tuple[int, float]] = field(default_factory=dict)
    # (user, context, sent, done, {content: status})
    view_reads: list[tuple[str, str, float, float, dict[str, int]]] = field(default_factory=list)
    # (user, context, sent, done, summary)
    summary_reads: list[tuple[str, str, float, float, dict[str, Any]]] = field(default_factory=list)
    users: set[str] = field(default_factory=set)

    def add(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)


# --- HTTP ----------------------------------------------------------------------------------------
class Client:
    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.timeout = timeout

    def call(
        self, method: str, path: str, token: str, request: dict[str, Any] | None
    ) -> tuple[int | None, Any, str]:
        """(HTTP status or None, the envelope's result, err code or failure)."""
        headers = {"Authorization": f"Bearer {token}"}
        body = None
        if request is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps({"request": request})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            data = response.read()
        except TimeoutError:
            return None, None, "timeout"
        except OSError as exc:
            return None, None, type(exc).__name__
        except http.client.HTTPException as exc:
            return None, None, type(exc).__name__
        finally:
            conn.close()
        try:
            envelope = json.loads(data)
            err = envelope.get("params", {}).get("err") or ""
            return response.status, envelope.get("result"), err
        except (ValueError, AttributeError):
            return response.status, None, "not JSON"


# --- one virtual learner -------------------------------------------------------------------------
class Learner:
    def __init__(
        self, user: str, token: str, client: Client, journal: Journal, args: argparse.Namespace
    ) -> None:
        self.user, self.token, self.client, self.journal = user, token, client, journal
        self.rng = random.Random(f"{args.seed}:{user}")
        self.think = args.think_ms / 1000
        self.stop: threading.Event = args.stop_event
        self.last_ok = True

    def pause(self) -> None:
        time.sleep(self.think * 2 * self.rng.random())

    def send(
        self,
        op: str,
        method: str,
        path: str,
        ctx: str,
        content: str,
        request: dict[str, Any] | None,
    ) -> tuple[int | None, Any, str, float, float]:
        sent = time.time()
        status, result, err = self.client.call(method, path, self.token, request)
        done = time.time()
        self.journal.add(Attempt(op, self.user, ctx, content, sent, done, status, err))
        return status, result, err, sent, done

    def write(
        self, op: str, path: str, ctx: str, content: str, request: dict[str, Any]
    ) -> float | None:
        """The acknowledgement time of a write (retried on a failure), or None."""
        failed_before = False
        for delay in (*RETRY_DELAYS, None):
            status, _, err, _, done = self.send(op, "POST", path, ctx, content, request)
            if status is not None and 200 <= status < 300:
                return done
            if op == "enrol" and err == "USER_ALREADY_ENROLLED_COURSE" and failed_before:
                return done  # an earlier attempt without an answer did enrol
            if status is not None and status < 500:
                return None  # a 4xx: the write is refused, not retried
            failed_before = True
            if delay is None or self.stop.is_set():
                return None
            time.sleep(delay)
        return None

    def target(self, ctx: str, content: str) -> dict[str, Any]:
        return {"userId": self.user, "contentId": content, "collectionId": COLL, "contextId": ctx}

    def ack_status(self, ctx: str, content: str, at: float, status: int) -> None:
        with self.journal.lock:
            self.journal.status_acks[(self.user, ctx, content)].append((at, status))

    # the steps ----------------------------------------------------------------------------
    def enrol(self, ctx: str) -> bool:
        request = {"userId": self.user, "collectionId": COLL, "contextId": ctx}
        at = self.write("enrol", "/v1/enrol", ctx, "", request)
        if at is not None:
            with self.journal.lock:
                self.journal.enrol_acks[(self.user, ctx)] = at
        return at is not None

    def start(self, ctx: str, content: str) -> bool:
        at = self.write("start", "/v1/view/start", ctx, content, self.target(ctx, content))
        if at is not None:
            self.ack_status(ctx, content, at, 1)
        return at is not None

    def update(self, ctx: str, content: str, progress: int) -> bool:
        request = {
            **self.target(ctx, content),
            "progress": progress,
            "progressDetails": {"position": progress * 3},
            "timeSpent": float(progress),
        }
        at = self.write("update", "/v1/view/update", ctx, content, request)
        if at is not None:
            key = (self.user, ctx, content)
            with self.journal.lock:
                self.journal.progress_acks[key] = max(
                    progress, self.journal.progress_acks.get(key, 0)
                )
        return at is not None

    def end(self, ctx: str, content: str) -> bool:
        at = self.write("end", "/v1/view/end", ctx, content, self.target(ctx, content))
        if at is not None:
            self.ack_status(ctx, content, at, 2)
        return at is not None

    def submit(self, ctx: str, content: str, number: int) -> bool:
        attempt_id = f"{self.user}-{ctx}-{content}-{number}"
        assessment_ts = int(time.time() * 1000) - 1000
        scores = [float(self.rng.randint(0, 1)) for _ in range(3)]
        request = {
            **self.target(ctx, content),
            "attemptId": attempt_id,
            "assessmentTs": assessment_ts,
            "events": [
                {
                    "eid": "ASSESS",
                    "ets": assessment_ts - 100 + i,
                    "edata": {"item": {"id": f"q{i}", "maxscore": 1}, "score": score},
                }
                for i, score in enumerate(scores)
            ],
        }
        at = self.write("submit", "/v1/assessment/submit", ctx, content, request)
        if at is not None:
            self.ack_status(ctx, content, at, 2)
            with self.journal.lock:
                self.journal.submit_acks[(self.user, ctx, content, attempt_id)] = (
                    assessment_ts,
                    sum(scores),
                )
        return at is not None

    def read(self, ctx: str) -> None:
        kind = self.rng.random()
        if kind < 0.5:
            request = {
                "userId": self.user,
                "contentId": list(ids.LEAVES),
                "collectionId": COLL,
                "contextId": ctx,
            }
            status, result, _, sent, done = self.send(
                "view read", "POST", "/v1/view/read", ctx, "", request
            )
            if status == 200 and result:
                seen = {c["contentId"]: c["status"] for c in result["contents"]}
                with self.journal.lock:
                    self.journal.view_reads.append((self.user, ctx, sent, done, seen))
        elif kind < 0.85:
            request = {"userId": self.user, "collectionId": COLL, "contextId": ctx}
            status, result, _, sent, done = self.send(
                "summary read", "POST", "/v1/summary/read", ctx, "", request
            )
            if status == 200 and result:
                with self.journal.lock:
                    self.journal.summary_reads.append(
                        (self.user, ctx, sent, done, result["summary"])
                    )
        else:
            status, result, _, sent, done = self.send(
                "summary list", "GET", f"/v1/summary/list/{self.user}", "", "", None
            )
            if status == 200 and result:
                with self.journal.lock:
                    for summary in result["summary"]:
                        self.journal.summary_reads.append(
                            (self.user, summary["contextId"], sent, done, summary)
                        )

    def leaf_steps(self, ctx: str, content: str) -> Iterator[Callable[[], bool]]:
        if content in ids.ASSESSMENTS:
            yield lambda: self.submit(ctx, content, 1)
            if self.rng.random() < 0.4:
                yield lambda: self.submit(ctx, content, 2)
            return
        yield lambda: self.start(ctx, content)
        for progress in sorted(self.rng.sample(range(10, 96, 5), self.rng.randint(1, 3))):
            yield lambda p=progress: self.update(ctx, content, p)  # type: ignore[misc]
        yield lambda: self.end(ctx, content)
        if self.rng.random() < 0.25:  # a revisit after completion changes nothing
            yield lambda: self.start(ctx, content)
            yield lambda: self.update(ctx, content, 30)

    def play(self) -> None:
        contexts = [ids.CONTEXT_IDS[0]]
        if self.rng.random() < 0.5:
            contexts.append(ids.CONTEXT_IDS[1])
        plans: list[tuple[str, Iterator[Callable[[], bool]]]] = []
        for ctx in contexts:
            if self.stop.is_set():
                return
            self.pause()
            if self.enrol(ctx):
                plans.append((ctx, self.course(ctx)))
        while plans and not self.stop.is_set():
            ctx, steps = self.rng.choice(plans)
            step = next(steps, None)
            if step is None:
                plans.remove((ctx, steps))
                continue
            self.pause()
            self.last_ok = step()
            if self.rng.random() < 0.35 and not self.stop.is_set():
                self.pause()
                self.read(ctx)

    def course(self, ctx: str) -> Iterator[Callable[[], bool]]:
        for content in ids.LEAVES:
            for step in self.leaf_steps(ctx, content):
                # A refused step ends this leaf (e.g. its start was never acknowledged).
                yield step
                if not self.last_ok:
                    break


def run_load(args: argparse.Namespace, journal: Journal, tokens: Callable[[str], str]) -> None:
    client = Client(args.base_url, args.timeout)
    counter = iter(range(10**9))
    counter_lock = threading.Lock()

    def virtual_learner() -> None:
        while not args.stop_event.is_set():
            with counter_lock:
                user = ids.user_id(next(counter))
                journal.users.add(user)
            Learner(user, tokens(user), client, journal, args).play()

    threads = [
        threading.Thread(target=virtual_learner, name=f"learner-{i}", daemon=True)
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    args.stop_event.wait(args.duration)
    args.stop_event.set()
    for thread in threads:
        thread.join(timeout=args.timeout * 5 + 10)


# --- faults --------------------------------------------------------------------------------------
@dataclass
class Fault:
    name: str
    started: float
    ended: float = 0.0
    detail: str = ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def restart_redis(args: argparse.Namespace) -> str:
    state = Path(args.redis_dir)
    pid, port = int((state / "pid").read_text()), (state / "port").read_text().strip()
    mode = "save" if args.redis_restart == "save" else "nosave"
    subprocess.run(  # noqa: S603 - our own private Redis
        ["redis-cli", "-p", port, "shutdown", mode],  # noqa: S607
        capture_output=True,
        timeout=30,
        check=False,
    )
    if not _wait_gone(pid, 30):
        raise RuntimeError(f"redis {pid} did not stop")
    env = {**os.environ, "REDIS_DIR": str(state), "REDIS_PREFERRED_PORT": port}
    subprocess.run([args.redis_sh, "start"], env=env, check=True, timeout=60)  # noqa: S603
    new_port = (state / "port").read_text().strip()
    if new_port != port:
        raise RuntimeError(f"redis came back on port {new_port}, not {port}")
    return f"SHUTDOWN {mode.upper()}, pid {pid} -> {(state / 'pid').read_text().strip()}"


def kill_worker(
    args: argparse.Namespace, number: int, broker: Any
) -> tuple[str, Callable[[], str]]:
    """SIGKILL of worker ``number`` (its main process and pool child at once), preferably while
    the workers hold messages (up to 10 s for two unacknowledged, else one)."""
    deadline, unacked = time.time() + 10, 0
    while time.time() < deadline:
        with contextlib.suppress(Exception):
            unacked = int(broker.hlen("unacked"))
        if unacked >= 2 or (unacked and time.time() > deadline - 5):
            break
        time.sleep(0.02)
    pid_file = Path(args.tmp) / f"celery-{number}.pid"
    pid = int(pid_file.read_text())
    children = subprocess.run(  # noqa: S603
        ["pgrep", "-P", str(pid)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for victim in [pid, *map(int, children)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    _wait_gone(pid, 10)

    def restart() -> str:
        out = subprocess.run(  # noqa: S603
            [str(Path(args.tmp) / "start-worker.sh"), str(number)],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    detail = f"worker {number}: SIGKILL of pid {pid} and pool {' '.join(children)}"
    return f"{detail} ({unacked} messages unacknowledged)", restart


def inject_faults(args: argparse.Namespace, faults: list[Fault], t0: float, broker: Any) -> None:
    stop: threading.Event = args.stop_event

    def at(fraction: float) -> bool:
        return not stop.wait(max(0.0, t0 + fraction * args.duration - time.time()))

    try:
        if at(0.25):
            fault = Fault("Redis restart", time.time())
            fault.detail = restart_redis(args)
            fault.ended = time.time()
            faults.append(fault)
            log(f"fault: {fault.name} ({fault.detail}), {fault.ended - fault.started:.1f} s")
        if at(0.45):
            fault = Fault("Celery worker SIGKILL + restart", time.time())
            detail, restart = kill_worker(args, 1, broker)
            log(f"fault: {detail}")
            time.sleep(5)
            fault.detail = f"{detail}; restarted 5 s later as pid {restart()}"
            fault.ended = time.time()
            faults.append(fault)
        if at(0.65):
            fault = Fault(f"Cassandra frozen {args.freeze:g} s", time.time())
            os.kill(args.cassandra_pid, signal.SIGSTOP)
            try:
                log(f"fault: Cassandra (pid {args.cassandra_pid}) SIGSTOP")
                time.sleep(args.freeze)
            finally:
                os.kill(args.cassandra_pid, signal.SIGCONT)
            fault.ended = time.time()
            fault.detail = f"SIGSTOP/SIGCONT of pid {args.cassandra_pid}"
            faults.append(fault)
            log("fault: Cassandra SIGCONT")
    except Exception as exc:  # report it, keep the load going
        log(f"fault injection failed: {type(exc).__name__}: {exc}")
        faults.append(Fault(f"FAILED: {type(exc).__name__}: {exc}", time.time(), time.time()))


# --- the backlog ---------------------------------------------------------------------------------
Sample = tuple[int, int, int, int, float]


def backlog(coordination: Any, broker: Any) -> Sample | None:
    """(waiting in the broker, unacked, users with dirty scopes, other coordination keys, age in
    s of the oldest unacknowledged message)."""
    try:
        pipe = broker.pipeline(transaction=False)
        pipe.llen("celery")
        pipe.hlen("unacked")
        pipe.zrange("unacked_index", 0, 0, withscores=True)
        waiting, unacked, oldest = pipe.execute()
        age = time.time() - oldest[0][1] if oldest else 0.0
        dirty = others = 0
        for key in coordination.scan_iter(match="viewer:agg:*", count=1000):
            if key.startswith(b"viewer:agg:dirty:"):
                dirty += 1
            else:
                others += 1
        return int(waiting), int(unacked), dirty, others, age
    except Exception:  # Redis down: no sample
        return None


class Monitor(threading.Thread):
    def __init__(self, coordination: Any, broker: Any) -> None:
        super().__init__(name="monitor", daemon=True)
        self.coordination, self.broker = coordination, broker
        self.samples: list[tuple[float, Sample | None]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            self.samples.append((time.time(), backlog(self.coordination, self.broker)))


def drain(coordination: Any, broker: Any, timeout: float) -> tuple[float, bool, str]:
    deadline = time.time() + timeout
    quiet_since = None
    last = None
    while time.time() < deadline:
        last = backlog(coordination, broker)
        if last is not None and not any(last[:4]):
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since >= 3:
                return quiet_since, True, ""
        else:
            quiet_since = None
        time.sleep(0.2)
    if last is None:
        return time.time(), False, "Redis unreachable"
    left = "waiting {}, unacked {} (oldest {:.0f} s), dirty users {}, other keys {}"
    return time.time(), False, left.format(last[0], last[1], last[4], last[2], last[3])


# --- the checks ----------------------------------------------------------------------------------
@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    lowered: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    behind_starts: list[str] = field(default_factory=list)
    dup_by_key: list[str] = field(default_factory=list)
    dup_by_enrolment: list[str] = field(default_factory=list)
    missing_webhooks: list[str] = field(default_factory=list)
    unexpected_webhooks: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    webhooks: int = 0
    completed: int = 0
    enrolments: int = 0
    checked_writes: int = 0
    checked_reads: int = 0


def check_reads(journal: Journal, findings: Findings) -> None:
    """No status lowered: each read against the acknowledgements before it and earlier reads."""
    acks = {key: sorted(values) for key, values in journal.status_acks.items()}
    by_content: dict[tuple[str, str, str], list[tuple[float, float, int]]] = defaultdict(list)
    for user, ctx, sent, done, seen in journal.view_reads:
        for content, status in seen.items():
            key = (user, ctx, content)
            acked = max((s for t, s in acks.get(key, []) if t < sent), default=0)
            findings.checked_reads += 1
            if status < acked:
                findings.lowered.append(
                    f"view read {user} {ctx} {content}: {status} after {acked} acknowledged"
                )
            by_content[key].append((sent, done, status))
    for key, reads in by_content.items():
        for sent, _, status in reads:
            before = max((s for _, d, s in reads if d < sent), default=0)
            if status < before:
                findings.lowered.append(
                    f"view read {' '.join(key)}: {status} after reading {before}"
                )
    by_enrolment: dict[tuple[str, str], list[tuple[float, float, dict[str, Any]]]] = defaultdict(
        list
    )
    for user, ctx, sent, done, summary in journal.summary_reads:
        by_enrolment[(user, ctx)].append((sent, done, summary))
    for (user, ctx), summaries in by_enrolment.items():
        for asked, _, summary in summaries:
            for _, answered, earlier in summaries:
                if answered >= asked:
                    continue
                problems = []
                if summary["status"] < earlier["status"]:
                    problems.append(f"status {earlier['status']} -> {summary['status']}")
                if summary["progress"] < earlier["progress"]:
                    problems.append(f"progress {earlier['progress']} -> {summary['progress']}")
                for content, status in earlier["contentStatus"].items():
                    if summary["contentStatus"].get(content, 0) < status:
                        problems.append(
                            f"{content} {status} -> {summary['contentStatus'].get(content)}"
                        )
                if problems:
                    findings.lowered.append(f"summary {user} {ctx}: {', '.join(problems)}")
                    break


def check_store(
    journal: Journal, findings: Findings, client: Client, token: str
) -> dict[tuple[str, str], int]:
    """Lost writes, final statuses and summaries; returns each enrolment's expected status."""
    from assessments.selectors import attempt_read
    from consumption.repositories import consumption_repository
    from modes.selectors import active_policy
    from summaries.domain import aggregate
    from summaries.repositories import enrolment_repository
    from viewer import timeutil
    from viewer.identifiers import ViewTarget
    from viewer.selectors import collection_get

    policy = active_policy()
    collection = collection_get(identifier=COLL)
    expected_status: dict[tuple[str, str], int] = {}

    def api(path: str, request: dict[str, Any]) -> Any:
        for delay in (0.5, 1, 2, 4, None):
            status, result, err = client.call("POST", path, token, request)
            if status == 200:
                return result
            if status is not None and status < 500 and status != 404:
                raise RuntimeError(f"{path} {request}: {status} {err}")
            if status == 404:
                return None
            if delay is None:
                raise RuntimeError(f"{path} {request}: {status} {err}")
            time.sleep(delay)
        return None

    scopes = {(u, c) for (u, c, _) in journal.status_acks} | set(journal.enrol_acks)
    scopes |= {(u, c) for (u, c, _, _) in journal.submit_acks}
    for user, ctx in sorted(scopes):
        # the store
        targets = {c: ViewTarget(user, c, COLL, ctx) for c in ids.LEAVES}
        keys = [policy.key(t) for t in targets.values()]
        rows = {
            row.key.content_id: row
            for row in consumption_repository().get_many(user_id=user, keys=keys)
        }
        api_rows = {
            c["contentId"]: c
            for c in api(
                "/v1/view/read",
                {
                    "userId": user,
                    "contentId": list(ids.LEAVES),
                    "collectionId": COLL,
                    "contextId": ctx,
                },
            )["contents"]
        }
        for content in ids.LEAVES:
            key = (user, ctx, content)
            acked = max((s for _, s in journal.status_acks.get(key, [])), default=0)
            progress = journal.progress_acks.get(key, 0)
            row = rows.get(content)
            stored = (row.status, row.progress) if row else (0, 0)
            served = (api_rows[content]["status"], api_rows[content]["progress"])
            for where, (status, stored_progress) in (("store", stored), ("API", served)):
                if status < acked:
                    findings.lost.append(
                        f"{where}: {user} {ctx} {content} status {status}, {acked} acknowledged"
                    )
                if stored_progress < progress and status < 2:
                    findings.lost.append(
                        f"{where}: {user} {ctx} {content} progress {stored_progress}, "
                        f"{progress} acknowledged"
                    )
            if acked or progress:
                findings.checked_writes += 1
        # attempts
        wanted = {
            attempt_id: value
            for (u, c, _, attempt_id), value in journal.submit_acks.items()
            if (u, c) == (user, ctx)
        }
        if wanted:
            report = attempt_read(user_id=user, collection_id=COLL, context_id=ctx)
            stored_attempts = {a.attempt_id: a for a in report.attempts}
            served = api(
                "/v1/assessment/read", {"userId": user, "collectionId": COLL, "contextId": ctx}
            )
            served_attempts = {a["attemptId"]: a for a in (served or {}).get("attempts", [])}
            for attempt_id, (_, score) in wanted.items():
                findings.checked_writes += 1
                stored_attempt = stored_attempts.get(attempt_id)
                if stored_attempt is None or abs(stored_attempt.total_score - score) > 1e-9:
                    findings.lost.append(
                        f"store: attempt {attempt_id} ({score}) -> {stored_attempt}"
                    )
                api_got = served_attempts.get(attempt_id)
                if api_got is None or abs(api_got["totalScore"] - score) > 1e-9:
                    findings.lost.append(f"API: attempt {attempt_id} ({score}) -> {api_got}")
        # the enrolment and its summary
        enrolment = enrolment_repository().get(user_id=user, collection_id=COLL, context_id=ctx)
        summary = api("/v1/summary/read", {"userId": user, "collectionId": COLL, "contextId": ctx})
        if (user, ctx) in journal.enrol_acks:
            findings.checked_writes += 1
            if enrolment is None or not enrolment.active:
                findings.lost.append(f"store: enrolment {user} {ctx} -> {enrolment}")
            if summary is None or not summary["summary"]["active"]:
                findings.lost.append(f"API: enrolment {user} {ctx} -> {summary}")
        if enrolment is None or summary is None:
            continue
        findings.enrolments += 1
        summary = summary["summary"]
        report = attempt_read(user_id=user, collection_id=COLL, context_id=ctx)
        expected = aggregate(
            user_id=user,
            context_id=ctx,
            collection=collection,
            rows={c: (r.status, r.last_completed_time) for c, r in rows.items()},
            scores=report.best,
            at=timeutil.now(),
        )
        expected_status[(user, ctx)] = expected.status
        want = {
            "contentStatus": expected.content_status,
            "progress": expected.progress,
            "status": expected.status,
            "completedOn": timeutil.to_ms(expected.completed_on),
            "assessmentStatus": {
                c: {"score": s.score, "max_score": s.max_score} for c, s in expected.scores.items()
            },
            "pending": False,
        }
        got = {name: summary[name] for name in want}
        if got != want:
            diff = {name: (got[name], want[name]) for name in want if got[name] != want[name]}
            text = f"{user} {ctx}: (summary, recompute) {diff}"
            if started_only(got, want):
                findings.behind_starts.append(text)
            else:
                findings.mismatched.append(text)
    return expected_status


def started_only(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """The summary differs from the recompute only by contents started (status 1) since its last
    recompute, which nothing schedules (DESIGN.md section 6: view end, submit, enrol and carry
    do): such a content shows 0, and the enrolment 0 instead of 1."""
    if any(got[name] != want[name] for name in want if name not in ("contentStatus", "status")):
        return False
    if got["status"] != want["status"] and (got["status"], want["status"]) != (0, 1):
        return False
    wanted = want["contentStatus"]
    return set(got["contentStatus"]) == set(wanted) and all(
        status == wanted[content] or (status, wanted[content]) == (0, 1)
        for content, status in got["contentStatus"].items()
    )


def check_webhooks(
    records_file: Path, expected: dict[tuple[str, str], int], findings: Findings
) -> None:
    records = [json.loads(line) for line in records_file.read_text().splitlines() if line]
    findings.webhooks = len(records)
    by_key: Counter[str] = Counter()
    by_enrolment: Counter[tuple[str, str]] = Counter()
    for record in records:
        body = record["body"] if isinstance(record["body"], dict) else {}
        by_key[record["key"]] += 1
        by_enrolment[(body.get("userId", "?"), body.get("contextId", "?"))] += 1
        if not record["signature_ok"]:
            findings.bad_signatures += 1
        if body.get("event") != "collection.completed" or body.get("collectionId") != COLL:
            findings.unexpected_webhooks.append(f"unexpected body {body}")
    findings.dup_by_key = [f"{key}: {n} deliveries" for key, n in by_key.items() if n > 1]
    findings.dup_by_enrolment = [
        f"{u} {c}: {n} deliveries" for (u, c), n in by_enrolment.items() if n > 1
    ]
    completed = {scope for scope, status in expected.items() if status == 2}
    findings.completed = len(completed)
    findings.missing_webhooks = [f"{u} {c}" for u, c in sorted(completed - set(by_enrolment))]
    findings.unexpected_webhooks += [
        f"{u} {c}: not completed" for u, c in sorted(set(by_enrolment) - completed)
    ]


# --- the report ----------------------------------------------------------------------------------
def table(rows: list[list[str]], header: list[str], align_left: bool = False) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 or align_left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def convergence(
    journal: Journal, monitor: Monitor, faults: list[Fault], t0: float
) -> tuple[float | None, str]:
    real = [f for f in faults if f.ended and not f.name.startswith("FAILED")]
    if not real:
        return None, "no fault injected"
    first, last = min(f.started for f in real), max(f.ended for f in real)
    before = [sum(s[:4]) for t, s in monitor.samples if s is not None and t0 + 10 <= t < first]
    baseline = max(2, sorted(before)[int(0.95 * (len(before) - 1))] if before else 2)
    back = next(
        (t for t, s in monitor.samples if t >= last and s is not None and sum(s[:4]) <= baseline),
        None,
    )
    failed = [a.done for a in journal.attempts if outcome(a) not in ("2xx", "4xx")]
    last_failure = max((d for d in failed if d >= last), default=last)
    if back is None:
        return None, f"the backlog never fell back to {baseline} (its level before the faults)"
    # Latency: the first 2 s window of requests sent after the fault whose median answer time is
    # within twice the median before the first fault.
    normal = median([a.done - a.sent for a in journal.attempts if t0 + 10 <= a.sent < first])
    fast = None
    start = last
    while normal is not None and start < max((a.sent for a in journal.attempts), default=last):
        window = [a.done - a.sent for a in journal.attempts if start <= a.sent < start + 2]
        if window and (median(window) or 0) <= 2 * normal:
            fast = start
            break
        start += 0.5
    if fast is None or normal is None:
        return None, "request latency never fell back to twice its median before the faults"
    return max(back, last_failure, fast) - last, (
        f"last failed request answered {last_failure - last:.1f} s after, backlog back to "
        f"<= {baseline} after {back - last:.1f} s, requests sent from {fast - last:.1f} s after "
        f"answered at their normal speed (median <= 2 x {normal * 1000:.0f} ms)"
    )


def median(values: list[float]) -> float | None:
    return sorted(values)[len(values) // 2] if values else None


def report(
    args: argparse.Namespace,
    journal: Journal,
    faults: list[Fault],
    monitor: Monitor,
    findings: Findings,
    t0: float,
    load_ended: float,
    drained: tuple[float, bool, str],
) -> list[str]:
    out = [
        f"Fault soak: {args.duration:g} s of load, {args.clients} virtual learners "
        f"(think {args.think_ms:g} ms), {len(journal.users)} users; "
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(t0))}",
        *[f"  {note}" for note in args.note],
        "",
        "Requests by outcome (each attempt; writes are retried on 503/5xx/time-out):",
    ]
    counts: Counter[tuple[str, str]] = Counter((a.op, outcome(a)) for a in journal.attempts)
    ops = sorted({a.op for a in journal.attempts}, key=lambda o: (o not in WRITES, o))
    rows = [[op, *(f"{counts[(op, o)]:,}" for o in OUTCOMES)] for op in ops]
    rows.append(["all", *(f"{sum(counts[(op, o)] for op in ops):,}" for o in OUTCOMES)])
    out += table(rows, ["request", *OUTCOMES])
    codes = Counter(
        f"{a.op} {a.status} {a.err}"
        for a in journal.attempts
        if outcome(a) in ("4xx", "5xx (not 503)")
    )
    if codes:
        out.append("  4xx/5xx answers: " + ", ".join(f"{k} x{n}" for k, n in codes.most_common(8)))
    out += ["", "Faults injected (s from the start of the load):"]
    out += table(
        [[f.name, f"{f.started - t0:.1f}", f"{f.ended - t0:.1f}", f.detail] for f in faults],
        ["fault", "at", "until", "detail"],
        align_left=True,
    )
    seconds, how = convergence(journal, monitor, faults, t0)
    drained_at, drained_ok, left = drained
    if not drained_ok:
        seconds, how = None, f"the queues did not drain ({how})"
    oldest = max((s[4] for _, s in monitor.samples if s is not None), default=0.0)
    out += [
        "",
        "Checks (after the load stopped and the queues drained):",
    ]
    out += table(
        [
            ["acknowledged writes checked (store + API)", f"{findings.checked_writes:,}"],
            ["lost writes", f"{len(findings.lost)}"],
            ["statuses read during the run, checked", f"{findings.checked_reads:,}"],
            ["lowered statuses", f"{len(findings.lowered)}"],
            ["enrolments checked against a recompute", f"{findings.enrolments:,}"],
            ["mismatched summaries", f"{len(findings.mismatched)}"],
            [
                "summaries behind only by contents started since (not a recompute trigger)",
                f"{len(findings.behind_starts)}",
            ],
            ["completed enrolments", f"{findings.completed:,}"],
            ["webhook deliveries received", f"{findings.webhooks:,}"],
            ["duplicate webhooks (by Idempotency-Key)", f"{len(findings.dup_by_key)}"],
            ["duplicate webhooks (by enrolment)", f"{len(findings.dup_by_enrolment)}"],
            ["missing webhooks", f"{len(findings.missing_webhooks)}"],
            [
                "unexpected webhooks / bad signatures",
                f"{len(findings.unexpected_webhooks)} / {findings.bad_signatures}",
            ],
            [
                "drained after the load stopped",
                f"{drained_at - load_ended:.1f} s"
                if drained_ok
                else f"NOT within {args.drain_timeout:g} s ({left})",
            ],
            [
                "seconds to converge after the last fault",
                "never" if seconds is None else f"{seconds:.1f} s",
            ],
        ],
        ["check", "result"],
        align_left=True,
    )
    out.append(f"  convergence: {how}")
    out.append(
        f"  oldest unacknowledged broker message seen: {oldest:.0f} s (a killed worker's messages "
        f"come back after the visibility timeout, {args.visibility_timeout:g} s here)"
    )
    for title, items in (
        ("Lost writes", findings.lost),
        ("Lowered statuses", findings.lowered),
        ("Mismatched summaries", findings.mismatched),
        ("Summaries behind only by contents started since", findings.behind_starts),
        ("Duplicate webhooks by key", findings.dup_by_key),
        ("Duplicate webhooks by enrolment", findings.dup_by_enrolment),
        ("Missing webhooks", findings.missing_webhooks),
        ("Unexpected webhooks", findings.unexpected_webhooks),
    ):
        if items:
            out += ["", f"{title} (first 10 of {len(items)}):", *(f"  {i}" for i in items[:10])]
    return out


# --- main ----------------------------------------------------------------------------------------
def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--service-token", required=True)
    p.add_argument("--duration", type=float, default=300.0)
    p.add_argument("--clients", type=int, default=12)
    p.add_argument("--think-ms", type=float, default=150.0)
    p.add_argument("--timeout", type=float, default=15.0)
    p.add_argument("--freeze", type=float, default=10.0)
    p.add_argument("--redis-restart", choices=("save", "flush"), default="save")
    p.add_argument("--drain-timeout", type=float, default=600.0)
    p.add_argument("--visibility-timeout", type=float, default=900.0, help="for the report")
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--tmp", required=True)
    p.add_argument("--redis-dir", required=True)
    p.add_argument("--redis-sh", required=True)
    p.add_argument("--cassandra-pid", type=int, required=True)
    p.add_argument("--webhook-records", type=Path, required=True)
    p.add_argument("--note", action="append", default=[])
    p.add_argument("--results", type=Path, required=True)
    p.add_argument("--raw", type=Path)
    return p.parse_args(argv)


def write_raw(
    directory: Path, journal: Journal, faults: list[Fault], monitor: Monitor, t0: float
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "requests.csv").open("w") as f:
        f.write("op,user,context,content,sent_s,done_s,status,err\n")
        for a in journal.attempts:
            f.write(
                f"{a.op},{a.user},{a.context},{a.content},{a.sent - t0:.3f},{a.done - t0:.3f},"
                f"{a.status if a.status is not None else ''},{a.err}\n"
            )
    with (directory / "backlog.csv").open("w") as f:
        f.write("t_s,waiting,unacked,dirty_users,other_keys,oldest_unacked_s\n")
        for t, s in monitor.samples:
            f.write(f"{t - t0:.1f}," + (",".join(f"{v:g}" for v in s) if s else ",,,,") + "\n")
    (directory / "faults.json").write_text(
        json.dumps(
            [{**f.__dict__, "started": f.started - t0, "ended": f.ended - t0} for f in faults],
            indent=1,
        )
    )


def main(argv: list[str]) -> int:
    args = parse(argv)
    django.setup()
    import redis
    from django.conf import settings

    from viewer.auth import issue

    token_cache: dict[str, str] = {}
    token_lock = threading.Lock()

    def tokens(user: str) -> str:
        with token_lock:
            if user not in token_cache:
                token_cache[user] = issue(user_id=user, ttl_seconds=86400)
            return token_cache[user]

    coordination = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    broker = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"], socket_timeout=2)
    args.stop_event = threading.Event()
    journal, faults = Journal(), list[Fault]()
    monitor = Monitor(coordination, broker)
    monitor.start()
    t0 = time.time()
    log(f"load: {args.clients} virtual learners for {args.duration:g} s")
    injector = threading.Thread(
        target=inject_faults, args=(args, faults, t0, broker), name="faults", daemon=True
    )
    injector.start()
    try:
        run_load(args, journal, tokens)
    finally:
        args.stop_event.set()
        injector.join(timeout=60)
        with contextlib.suppress(OSError):
            os.kill(args.cassandra_pid, signal.SIGCONT)
    load_ended = time.time()
    log(f"load stopped: {len(journal.attempts):,} requests; draining")
    drained = drain(coordination, broker, args.drain_timeout)
    log("drained" if drained[1] else f"NOT drained: {drained[2]}")
    time.sleep(2)  # the last webhook deliveries
    monitor.stopping.set()
    findings = Findings()
    check_reads(journal, findings)
    client = Client(args.base_url, 30)
    expected = check_store(journal, findings, client, args.service_token)
    check_webhooks(args.webhook_records, expected, findings)
    lines = report(args, journal, faults, monitor, findings, t0, load_ended, drained)
    text = "\n".join(lines) + "\n"
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text)
    if args.raw is not None:
        write_raw(args.raw, journal, faults, monitor, t0)
    failed = (
        findings.lost
        or findings.lowered
        or findings.mismatched
        or findings.dup_by_key
        or findings.dup_by_enrolment
        or findings.missing_webhooks
        or not drained[1]
        or len(faults) < 3
    )
    return 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
