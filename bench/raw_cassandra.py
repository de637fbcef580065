"""The raw stores under the same load as the API: what bench/run.sh (VIEWER_STORE=cassandra)
compares POST /v1/view/update and /v1/view/read with.

    python -m bench.raw_cassandra lwt     SECONDS CONCURRENCY USERS CONTENTS
    python -m bench.raw_cassandra select  SECONDS CONCURRENCY USERS CONTENTS
    python -m bench.raw_cassandra hgetall SECONDS CONCURRENCY USERS CONTENTS

Run with DJANGO_SETTINGS_MODULE=bench.settings and the environment of the API under test
(CASSANDRA_HOSTS, CASSANDRA_PORT, CASSANDRA_KEYSPACE, REDIS_URL): the same driver, session options,
keyspace, prepared statement and consistency levels as the service, without HTTP, Django's
request cycle or DRF.

* ``lwt``: the repository's own conditional UPDATE of view/update (text from
  consumption/repositories/cassandra.py, prepared by viewer.cql.prepare, so LOCAL_QUORUM and
  serial LOCAL_SERIAL as configured), with the values view/update writes for the same seeded keys
  and the same progress per key as bench/update.lua. ``execute_async`` with exactly CONCURRENCY
  statements in flight (a semaphore: each completion lets the next one go), one process, one
  session. A statement not applied counts as a failure.
* ``select``: the partition-slice SELECT of view/read (two contents of one user, as
  bench/read.lua asks for), in flight the same way.
* ``hgetall``: HGETALL of the seeded content-status hashes (viewer:cs:{user}:..., one field per
  content: CONTENTS fields) through redis-py with the service's client settings; CONCURRENCY
  threads each doing sequential HGETALLs on a shared client (one pooled connection per thread),
  like CONCURRENCY sync clients. An empty hash counts as a failure.

Keys rotate over every seeded (user, content) like bench/common.lua, each worker starting at its
own offset. A 1 s ramp-up is not measured. Prints the ``BENCH key=value ...`` line of
bench/common.lua (non200 = failed operations, err_timeout = driver/Redis errors), which
bench/report.py reads.
"""

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import django

RAMP_UP_SECONDS = 1.0
MODES = ("lwt", "select", "hgetall")


@dataclass
class Tally:
    """Completed operations inside the measured window (thread-safe)."""

    started: float = 0.0
    ends: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    errors: int = 0
    sample: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, issued: float, failure: str = "", error: bool = False) -> None:
        """One completed operation; ``failure`` says what went wrong, if anything."""
        done = time.perf_counter()
        if not self.started <= issued or done > self.ends:
            return  # ramp-up, or completed after the window
        with self.lock:
            self.latencies.append(done - issued)
            if failure:
                self.failed += 1
                self.errors += error
                if not self.sample:
                    self.sample = failure[:400]

    def line(self) -> str:
        lat = sorted(self.latencies)
        n = len(lat)

        def pct(p: float) -> float:
            return 1000 * lat[min(n - 1, int(p / 100 * n))] if n else 0.0

        seconds = self.ends - self.started
        return (
            f"BENCH requests={n} duration_s={seconds:.3f} rps={n / seconds:.2f} "
            f"p50_ms={pct(50):.3f} p90_ms={pct(90):.3f} p99_ms={pct(99):.3f} "
            f"max_ms={(1000 * lat[-1] if n else 0.0):.3f} non200={self.failed} err_connect=0 "
            f"err_read=0 err_write=0 err_status=0 err_timeout={self.errors}"
        )


@dataclass(frozen=True)
class Keys:
    """The seeded keys in bench/common.lua's order: k -> (user u, content c), k = u + USERS*c."""

    users: int
    contents: int

    @property
    def count(self) -> int:
        return self.users * self.contents

    def at(self, k: int) -> tuple[int, int]:
        k %= self.count
        return k % self.users, (k // self.users) % self.contents

    def offset(self, worker: int) -> int:
        return (worker * (self.count // 2) + worker) % self.count


def _key(u: int, c: int) -> Any:
    from bench.seed import COLLECTION_ID, CONTEXT_ID, content_id, user_id
    from modes.selectors import active_policy
    from viewer.identifiers import ViewTarget

    return active_policy().key(ViewTarget(user_id(u), content_id(c), COLLECTION_ID, CONTEXT_ID))


def _schedule(tally: Tally, seconds: float) -> None:
    tally.started = time.perf_counter() + RAMP_UP_SECONDS
    tally.ends = tally.started + seconds


def _in_flight(
    concurrency: int,
    seconds: float,
    statement: Any,
    params: Callable[[int], tuple[Any, ...]],
    check: Callable[[Any], str],
) -> Tally:
    """Execute ``statement`` with ``params(k)`` for k = 0, 1, ... keeping exactly ``concurrency``
    executions in flight until the window closes, then wait for the stragglers. ``check(rows)``
    is empty for a good answer, else what was wrong with it."""
    from viewer import cql

    session = cql.session()
    slots = threading.Semaphore(concurrency)
    tally = Tally()

    def on_result(rows: Any, issued: float) -> None:
        slots.release()
        tally.record(issued, check(rows))

    def on_error(exc: BaseException, issued: float) -> None:
        slots.release()
        tally.record(issued, f"{type(exc).__name__}: {exc}", error=True)

    _schedule(tally, seconds)
    k = 0
    while time.perf_counter() < tally.ends:
        slots.acquire()
        values = params(k)
        k += 1
        issued = time.perf_counter()
        future = session.execute_async(statement, values)
        future.add_callbacks(on_result, on_error, callback_args=(issued,), errback_args=(issued,))
    for _ in range(concurrency):  # drain
        slots.acquire(timeout=30)
    return tally


def _level(value: int) -> str:
    from cassandra import ConsistencyLevel

    return str(ConsistencyLevel.value_to_name[value])


def _applied(rows: Any) -> str:
    row = rows[0]
    if row["[applied]"] if isinstance(row, dict) else row[0]:
        return ""
    return f"not applied, the row: {row}"


def run_lwt(seconds: float, concurrency: int, keys: Keys) -> Tally:
    from consumption.domain import Status
    from consumption.repositories import cassandra as repository
    from viewer import cql, timeutil

    # view/update's statement exactly as the repository builds it for a body with progress and
    # without timeSpent: fixed status/details/last update, raised last access/progress.
    fixed = ["status", "progressdetails", "last_updated_time"]
    raised = ["last_access_time", "progress"]
    text = repository._update_cql(fixed, raised, raised)
    statement = cql.prepare(text)
    print(f"BENCH_STATEMENT {text.format(ks=cql.keyspace())}")
    print(
        f"BENCH_CONSISTENCY {_level(statement.consistency_level)}, serial "
        f"{_level(statement.serial_consistency_level)}"
    )
    targets = [_key(*keys.at(k)) for k in range(keys.count)]

    def params(k: int) -> tuple[Any, ...]:
        # The same values bench/update.lua sends for key k (progress k % 101 per key).
        k %= keys.count
        key, at, progress = targets[k], timeutil.now(), k % 101
        details = {"position": k * 37 % 3600, "page": k % 40 + 1, "mimeType": "application/pdf"}
        return (
            int(Status.IN_PROGRESS),
            json.dumps(details),
            timeutil.now(),
            at,
            progress,
            key.user_id,
            key.collection_id,
            key.context_id,
            key.content_id,
            at,
            progress,
        )

    offset = keys.offset(0)
    return _in_flight(concurrency, seconds, statement, lambda k: params(offset + k), _applied)


def run_select(seconds: float, concurrency: int, keys: Keys) -> Tally:
    from consumption.repositories import cassandra as repository
    from viewer import cql

    statement = cql.prepare(repository.SELECT_CONTENTS)
    print(f"BENCH_STATEMENT {repository.SELECT_CONTENTS.format(ks=cql.keyspace())}")
    print(f"BENCH_CONSISTENCY {_level(statement.consistency_level)}")

    # The same two contents bench/read.lua asks for with key k: content c and the next one.
    targets = []
    for k in range(keys.count):
        u, c = keys.at(k)
        first, second = _key(u, c), _key(u, (c + 1) % keys.contents)
        contents = [first.content_id, second.content_id]
        targets.append((first.user_id, first.collection_id, first.context_id, contents))
    offset = keys.offset(0)

    def params(k: int) -> tuple[Any, ...]:
        return targets[(offset + k) % keys.count]

    return _in_flight(
        concurrency, seconds, statement, params, lambda rows: "" if len(rows) == 2 else f"{rows}"
    )


def run_hgetall(seconds: float, concurrency: int, keys: Keys) -> Tally:
    import redis
    from django.conf import settings

    from viewer.statusmap import map_key

    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=settings.REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
    )
    names = []
    for u in range(keys.users):
        key = _key(u, 0)
        names.append(map_key(key.user_id, key.collection_id, key.context_id))
    print(f"BENCH_COMMAND HGETALL {names[0]} -> {client.hgetall(names[0])}")
    tally = Tally()
    _schedule(tally, seconds)

    def worker(index: int) -> None:
        k = keys.offset(index)
        while (issued := time.perf_counter()) < tally.ends:
            try:
                fields = client.hgetall(names[k % keys.users])
            except (redis.RedisError, OSError) as exc:
                tally.record(issued, f"{type(exc).__name__}: {exc}", error=True)
            else:
                tally.record(issued, "" if len(fields) == keys.contents else f"fields: {fields}")
            k += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def main(argv: list[str]) -> int:
    if len(argv) != 6 or argv[1] not in MODES:
        print(__doc__, file=sys.stderr)
        return 2
    mode, seconds, concurrency = argv[1], float(argv[2]), int(argv[3])
    keys = Keys(users=int(argv[4]), contents=int(argv[5]))
    django.setup()
    runner = {"lwt": run_lwt, "select": run_select, "hgetall": run_hgetall}[mode]
    try:
        tally = runner(seconds, concurrency, keys)
    finally:
        if mode != "hgetall":
            from viewer import cql

            cql.session().cluster.shutdown()
    print(tally.line())
    if tally.failed:
        print(f"BENCH_FAILED {tally.failed} failed operations, e.g.: {tally.sample}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
