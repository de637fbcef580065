"""Cassandra's CPU per LWT against the number of statements in flight (README "Sizing a Cassandra
deployment"): view/update's prepared conditional UPDATE through the service's driver settings,
from one process, with exactly N statements in flight for SECONDS each.

    python -m bench.cassandra_inflight [LEVELS] [SECONDS]     # e.g. 1,2,4,16 5

Run against the node of scripts/cassandra/ctl.sh (its pid file gives the JVM whose CPU is
counted; CASSANDRA_DIR as for ctl.sh) with the environment of the service (CASSANDRA_HOSTS,
CASSANDRA_PORT, CASSANDRA_KEYSPACE, DJANGO_SETTINGS_MODULE=bench.settings). The keyspace's schema
must exist (``manage.py sync_cassandra``); 2,000 rows of a user ``inflight-*`` are started in it
first. Nothing else should run on the machine meanwhile.
"""

import json
import os
import sys
import threading
import time
from pathlib import Path

import django

ROWS = 2000


class Window:
    """``level`` statements in flight: a slot is taken before each and given back when it ends."""

    def __init__(self, level: int) -> None:
        self.slots = threading.Semaphore(level)
        self.done = self.failed = 0

    def finished(self, result: object) -> None:
        if not isinstance(result, list) or not result[0]["[applied]"]:
            self.failed += 1
        self.done += 1
        self.slots.release()


def _jvm_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str]) -> int:
    levels = [int(n) for n in (argv[1] if len(argv) > 1 else "1,2,4,16").split(",")]
    seconds = float(argv[2]) if len(argv) > 2 else 5.0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("VIEWER_STORE", "cassandra")
    django.setup()
    from consumption.repositories import cassandra as repository
    from viewer import cql, timeutil
    from viewer.identifiers import ConsumptionKey

    root = Path(__file__).resolve().parent.parent
    pid_file = Path(os.environ.get("CASSANDRA_DIR", root / ".local" / "cassandra")) / "pid"
    pid = int(pid_file.read_text())
    keys = [ConsumptionKey(f"inflight-{i:05d}", "c", "x", "k") for i in range(ROWS)]
    store = repository.CassandraConsumptionRepository()
    for key in keys:
        store.start(key=key, at=timeutil.now())
    raised = ["last_access_time", "progress"]
    fixed = ["status", "progressdetails", "last_updated_time"]
    text = repository._update_cql(fixed, raised, raised)
    statement, session = cql.prepare(text), cql.session()

    def params(i: int) -> tuple[object, ...]:
        key, now = keys[i % ROWS], timeutil.now()
        details = json.dumps({"position": i})
        return (1, details, now, now, 5, *repository._key_params(key), now, 5)

    print("in flight  LWT/s  Cassandra CPU per LWT  driver CPU per LWT  not applied")
    for level in levels:
        window = Window(level)
        jvm, own, started, i = _jvm_cpu_seconds(pid), time.process_time(), time.monotonic(), 0
        while time.monotonic() - started < seconds:
            window.slots.acquire()
            future = session.execute_async(statement, params(i))
            future.add_callbacks(window.finished, window.finished)
            i += 1
        for _ in range(level):  # the stragglers (a statement times out well before 30 s)
            if not window.slots.acquire(timeout=30):
                raise SystemExit("statements still in flight after 30 s")
        elapsed = time.monotonic() - started
        jvm, own = _jvm_cpu_seconds(pid) - jvm, time.process_time() - own
        print(
            f"{level:>9}  {window.done / elapsed:>5,.0f}  {1000 * jvm / window.done:>18.2f} ms  "
            f"{1000 * own / window.done:>15.2f} ms  {window.failed:>11}"
        )
    cql.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
