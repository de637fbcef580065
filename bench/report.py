"""Summarise the wrk runs of bench/run.sh into one table (stdout).

    python -m bench.report RAW_DIR SERVER_LOG
    python -m bench.report other-load RUN_FILE   # % of CPU other processes took in one run

RAW_DIR holds one file per wrk run, named ``<endpoint>-<run>.txt`` (``-warmup`` runs are
ignored), each with the ``BENCH ...`` line printed by bench/common.lua and the /proc/stat lines
run.sh wrote around the run. Settings of the run come from the BENCH_* environment variables.
Exit status 1 when any run saw a non-2xx answer or a socket error status.

With VIEWER_STORE=cassandra the runs include the raw stores (bench/raw_cassandra.py: same
``BENCH ...`` line, failed operations as non-200), and the report compares each API endpoint with
the raw store operation at the same concurrency (RAW_RATIOS).
"""

import os
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ENDPOINTS_BY_STORE: dict[str, list[tuple[str, str, float | None]]] = {
    # (file name, label, target ratio to bare)
    "sql": [
        ("bare", "bare DRF POST /bench/bare", None),
        ("update", "POST /v1/view/update", 0.50),
        ("read", "POST /v1/view/read", 0.60),
    ],
    "cassandra": [
        ("bare", "bare DRF POST /bench/bare", None),
        ("update", "POST /v1/view/update", None),
        ("lwt", "raw LWT UPDATE (driver)", None),
        ("read", "POST /v1/view/read", None),
        ("select", "raw SELECT slice (driver)", None),
        ("hgetall", "raw HGETALL (redis-py)", None),
    ],
}
RAW_NAMES = {"lwt", "select", "hgetall"}
# VIEWER_STORE=cassandra: (API endpoint, raw run, target of API req/s / raw ops/s).
RAW_RATIOS = [("update", "lwt", 0.40), ("read", "hgetall", None), ("read", "select", None)]
RAW_METHOD = {
    "lwt": "view/update's prepared UPDATE ... IF status < 2 AND last_access_time <= ? AND "
    "progress <= ? (the repository's text, same keys/values), execute_async with {c} in flight",
    "select": "view/read's prepared SELECT ... WHERE <user, collection, context> AND contentid "
    "IN (2 contents), execute_async with {c} in flight",
    "hgetall": "HGETALL of the seeded status hashes ({n} fields each), {c} threads each doing "
    "sequential HGETALLs on one redis-py client (pool: a connection per thread), no hiredis",
}
SERVER_LOG_PATTERNS = {
    "database is locked": re.compile(r"database is locked", re.IGNORECASE),
    "worker timeouts": re.compile(r"WORKER TIMEOUT"),
    "tracebacks": re.compile(r"^Traceback", re.MULTILINE),
    "errors logged": re.compile(r"\bERROR\b"),
    "warnings logged": re.compile(r"\bWARNING\b"),
}


@dataclass
class Cpu:
    """Shares of the machine's CPU time (all cores = 100 %) during one run."""

    busy: float
    server: float
    wrk: float  # the load generator: wrk, or bench/raw_cassandra.py
    # Cassandra's JVM and Redis (VIEWER_STORE=cassandra only; None: not recorded).
    stores: float | None = None
    # Of the rest: other processes alive at the end of the run, kernel threads (e.g. ext4's
    # journal and writeback, working for SQLite's files too), and what no living process
    # accounts for (interrupts, softirq of the loopback network, processes that came and went).
    processes: float = 0.0
    kernel_threads: float = 0.0
    top: str = ""

    @property
    def other(self) -> float:
        return max(0.0, self.busy - self.server - self.wrk - (self.stores or 0.0))


@dataclass
class Run:
    values: dict[str, float]
    cpu: Cpu | None


def _line(text: str, name: str) -> str | None:
    m = re.search(rf"^{name} (.*)$", text, re.MULTILINE)
    return m.group(1) if m else None


def _seconds(times_line: str) -> float:
    """User + system seconds from a line of bash's ``times`` (``0m1.230s 0m0.450s``)."""
    return sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", times_line))


def _processes(text: str, when: str) -> dict[tuple[str, str], tuple[str, bool, int]]:
    """(pid, start time) -> (name, is a kernel thread, ticks) from the BENCH_PROC_<when> lines."""
    out = {}
    pattern = rf"^BENCH_PROC_{when} (\d+) (\d+) (\S+) (\d+) (\d+)$"
    for m in re.finditer(pattern, text, re.MULTILINE):
        pid, started, name, ppid, ticks = m.groups()
        out[pid, started] = (name.strip("()"), pid == "2" or ppid == "2", int(ticks))
    return out


def _cpu(text: str) -> Cpu | None:
    marks = {}
    for name in ("CPU", "SERVER_TICKS", "SERVER_PIDS", "TIMES"):
        for when in ("BEFORE", "AFTER"):
            line = _line(text, f"BENCH_{name}_{when}")
            if line is None:
                return None
            marks[name, when] = line
    before = [int(x) for x in marks["CPU", "BEFORE"].split()[1:]]
    after = [int(x) for x in marks["CPU", "AFTER"].split()[1:]]
    delta = [a - b for a, b in zip(after, before, strict=True)][:8]  # guest time is in user
    total = sum(delta)
    if total <= 0:
        return None
    idle = delta[3] + delta[4]  # idle + iowait
    server = int(marks["SERVER_TICKS", "AFTER"]) - int(marks["SERVER_TICKS", "BEFORE"])
    wrk_ticks = (
        _seconds(marks["TIMES", "AFTER"]) - _seconds(marks["TIMES", "BEFORE"])
    ) * os.sysconf("SC_CLK_TCK")
    server_pids = set(
        marks["SERVER_PIDS", "BEFORE"].split() + marks["SERVER_PIDS", "AFTER"].split()
    )
    store_lines = [_line(text, f"BENCH_STORE_PIDS_{when}") for when in ("BEFORE", "AFTER")]
    store_pids = {pid for line in store_lines if line for pid in line.split()}
    procs_before, procs_after = _processes(text, "BEFORE"), _processes(text, "AFTER")
    processes = kernel = stores = 0
    used: list[tuple[int, str]] = []
    for key, (name, is_kernel, ticks) in procs_after.items():
        if key[0] in server_pids:
            continue
        if key[0] in store_pids:
            stores += ticks - procs_before[key][2] if key in procs_before else ticks
            continue
        # A process started during the run spent all its ticks in it.
        spent = ticks - procs_before[key][2] if key in procs_before else ticks
        if spent <= 0:
            continue
        if is_kernel:
            kernel += spent
        else:
            processes += spent
        used.append((spent, name))
    top = ", ".join(f"{name} {100 * t / total:.0f}%" for t, name in sorted(used, reverse=True)[:3])
    return Cpu(
        busy=100.0 * (total - idle) / total,
        server=100.0 * server / total,
        wrk=100.0 * wrk_ticks / total,
        stores=None if store_lines[0] is None else 100.0 * stores / total,
        processes=100.0 * processes / total,
        kernel_threads=100.0 * kernel / total,
        top=top,
    )


def read_run(path: Path) -> Run:
    text = path.read_text()
    line = _line(text, "BENCH")
    if line is None:
        raise SystemExit(f"{path}: no BENCH line; wrk output was:\n{text}")
    values = {k: float(v) for k, v in (pair.split("=") for pair in line.split())}
    return Run(values, _cpu(text))


def _num(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def _spread(values: list[float], digits: int) -> str:
    return (
        f"{_num(statistics.median(values), digits)} "
        f"({_num(min(values), digits)}-{_num(max(values), digits)})"
    )


def _cpu_text(cpu: Cpu | None) -> str:
    if cpu is None:
        return "?"
    stores = "" if cpu.stores is None else f"{cpu.stores:3.0f} + "
    return (
        f"{cpu.busy:3.0f} = {cpu.server:3.0f} + {stores}{cpu.wrk:3.0f} + {cpu.other:3.0f} "
        f"(processes {cpu.processes:.0f}, kernel threads {cpu.kernel_threads:.0f}; {cpu.top})"
    )


def _startup(value: str | None) -> str:
    """``"<s after launch> <s of ctl.sh start>"`` (bench/cassandra.sh) as text."""
    if not value:
        return "not measured (already running)"
    ready, whole = value.split()
    return f"{ready} s to CQL ({whole} s for all of ctl.sh start)"


def _first_line(raw: Path, name: str, tag: str) -> str:
    for path in sorted(raw.glob(f"{name}-*.txt")):
        line = _line(path.read_text(), tag)
        if line:
            return line
    return "?"


def _cassandra_lines(raw: Path, runs: dict[str, list[Run]], env: os._Environ[str]) -> list[str]:
    c, n = env.get("BENCH_CONNECTIONS", "?"), env.get("BENCH_CONTENTS", "?")
    out = [
        f"  stores:  Cassandra {env.get('BENCH_CASSANDRA_VERSION', '?')} (one node, "
        f"keyspace {env.get('CASSANDRA_KEYSPACE', '?')} created afresh) + Redis "
        f"{env.get('BENCH_REDIS_VERSION', '?')}, {env.get('BENCH_STORES', '?')} instances "
        f"(bench/cassandra.sh); seeded through view/start in {env.get('BENCH_SEED_SECONDS', '?')} s"
    ]
    cold, warm = env.get("BENCH_CASSANDRA_COLD"), env.get("BENCH_CASSANDRA_WARM")
    out.append("  Cassandra start-up (scripts/cassandra/ctl.sh start until CQL answers, JVM 17):")
    out.append(f"           cold {_startup(cold)}: first start, empty data directory")
    if cold and not warm:
        out.append("           warm not measured (BENCH_CASSANDRA_RESTART=0)")
    elif cold:
        stop = env.get("BENCH_CASSANDRA_STOP") or "?"
        out.append(
            f"           warm {_startup(warm)}: restart on its data directory "
            f"(after a {stop} s ctl.sh stop, SIGTERM + drain)"
        )
    out.append(
        f"  raw:     bench/raw_cassandra.py, one process, the service's driver session settings "
        f"and client settings, concurrency {c} (= wrk -c), same duration after a 1 s ramp-up:"
    )
    for name in sorted(RAW_NAMES & runs.keys(), key=["lwt", "select", "hgetall"].index):
        out.append(f"           {name}: {RAW_METHOD[name].format(c=c, n=n)}")
    if "lwt" in runs:
        out.append(f"           lwt consistency: {_first_line(raw, 'lwt', 'BENCH_CONSISTENCY')}")
    out.append(
        "           (a raw run's CPU window also holds the generator's start-up, ~2 s, and "
        "ramp-up, 1 s: its CPU shares are lower than while it measures)"
    )
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "other-load":
        cpu = read_run(Path(argv[2])).cpu
        print(round(cpu.processes) if cpu else 0)
        return 0
    raw, server_log = Path(argv[1]), Path(argv[2])
    env = os.environ
    store = env.get("VIEWER_STORE", "sql")
    runs: dict[str, list[Run]] = {}
    discarded = sorted(p.name for p in raw.glob("*.discarded-*.txt"))
    endpoints = []
    for name, label, target in ENDPOINTS_BY_STORE[store]:
        files = sorted(
            (p for p in raw.glob(f"{name}-*.txt") if re.fullmatch(rf"{name}-\d+\.txt", p.name)),
            key=lambda p: int(p.stem.split("-")[1]),
        )
        if not files and name in RAW_NAMES:
            continue  # not in BENCH_RAW
        runs[name] = [read_run(p) for p in files]
        if not runs[name]:
            raise SystemExit(f"no runs of {name} in {raw}")
        endpoints.append((name, label, target))

    medians = {name: statistics.median(r.values["rps"] for r in rs) for name, rs in runs.items()}
    labels = {name: label for name, label, _ in endpoints}
    out: list[str] = []
    w = out.append
    w(f"Viewer load benchmark  {env.get('BENCH_STARTED', '')}")
    w(f"  code:    git {env.get('BENCH_GIT', '?')}")
    database = (
        "fresh SQLite (WAL)"
        if store == "sql"
        else "Cassandra + Redis (below), InstanceConfig on a fresh SQLite,"
    )
    w(
        f"  server:  gunicorn {env.get('BENCH_WORKERS', '2')} "
        f"{env.get('BENCH_WORKER_CLASS') or 'sync'} workers, no access log, "
        f"DJANGO_SETTINGS_MODULE=bench.settings (DEBUG off, JWT auth: service token), "
        f"VIEWER_STORE={store}, {database} "
        f"with {env.get('BENCH_USERS', '?')} users x {env.get('BENCH_CONTENTS', '?')} contents "
        "started"
    )
    if (env.get("BENCH_WORKER_CLASS") or "sync") != "sync" or env.get(
        "BENCH_WORKER_THREADS", "1"
    ) != "1":
        w(
            f"  EXPERIMENT: gunicorn --worker-class {env.get('BENCH_WORKER_CLASS')} --threads "
            f"{env.get('BENCH_WORKER_THREADS')} (the service runs sync workers)"
        )
    if env.get("BENCH_DATABASE_QUERY"):
        w(f"  EXPERIMENT: DATABASE_URL ?{env['BENCH_DATABASE_QUERY']} (not the service default)")
    w(
        f"  load:    wrk -t{env.get('BENCH_THREADS', '?')} -c{env.get('BENCH_CONNECTIONS', '?')} "
        f"-d{env.get('BENCH_DURATION', '?')}s --latency, {len(runs['bare'])} run(s) per endpoint "
        f"interleaved ({', '.join(runs)}, ...) after a {env.get('BENCH_WARMUP', '?')} s warm-up "
        "of each; ~300-byte JSON bodies"
    )
    if store == "cassandra":
        out.extend(_cassandra_lines(raw, runs, env))
    w(f"  machine: {env.get('BENCH_MACHINE', '?')}")
    w("")
    w(
        "  median (min-max) of the runs; ratio = median req/s / median req/s of bare"
        + ("; raw rows: operations/s" if store == "cassandra" else "")
    )
    header = (
        f"  {'endpoint':<27} {'req/s':>24} {'p50 ms':>20} {'p99 ms':>22} "
        f"{'/ bare':>7} {'target':>8}  {'CPU busy':>8}"
    )
    w(header)
    w("  " + "-" * (len(header) - 2))
    verdicts: list[str] = []
    for name, label, target in endpoints:
        rs = runs[name]
        ratio = medians[name] / medians["bare"]
        cpus = [r.cpu for r in rs if r.cpu is not None]
        busy = [c.busy for c in cpus]
        target_text = "" if target is None else f">= {target:.2f}"
        if target is not None:
            verdict = "MET" if ratio >= target else "MISSED"
            verdicts.append(f"{label}: {ratio:.2f} of bare (target >= {target:.2f}) {verdict}")
        w(
            f"  {label:<27} {_spread([r.values['rps'] for r in rs], 0):>24} "
            f"{_spread([r.values['p50_ms'] for r in rs], 2):>20} "
            f"{_spread([r.values['p99_ms'] for r in rs], 2):>22} "
            f"{'' if name in RAW_NAMES else f'{ratio:.2f}':>7} {target_text:>8}  "
            f"{(str(round(statistics.median(busy))) + ' %') if busy else '?':>8}"
        )
    if store == "cassandra":
        w("")
        w(
            f"  API / raw store at the same concurrency (c{env.get('BENCH_CONNECTIONS', '?')}), "
            "medians of this run:"
        )
        for api, raw_name, target in RAW_RATIOS:
            if raw_name not in runs:
                continue
            ratio = medians[api] / medians[raw_name]
            verdict = (
                "(no target)"
                if target is None
                else f"(target >= {target:.2f}) {'MET' if ratio >= target else 'MISSED'}"
            )
            verdicts.append(
                f"{labels[api]} / {labels[raw_name]}: {medians[api]:,.0f} / "
                f"{medians[raw_name]:,.0f} = {ratio:.2f} {verdict}"
            )
    w("")
    for line in verdicts:
        w(f"  {line}")
    w("")
    load = "wrk or raw generator" if store == "cassandra" else "wrk"
    stores = "stores (Cassandra JVM + Redis) + " if store == "cassandra" else ""
    w(
        "  per run: req/s | p50 ms | p99 ms | max ms | requests | non-200 | socket errors | "
        f"CPU % of the machine: busy = server + {stores}{load} + rest (of which other "
        "processes, kernel threads; top 3 of them)"
    )
    failed = False
    worst_other = 0.0
    for name, label, _ in endpoints:
        for i, r in enumerate(runs[name], 1):
            v = r.values
            sock = int(v["err_connect"] + v["err_read"] + v["err_write"] + v["err_timeout"])
            failed |= v["non200"] > 0 or v["err_status"] > 0
            w(
                f"    {label:<27} #{i}  {v['rps']:>9,.0f} | {v['p50_ms']:6.2f} | "
                f"{v['p99_ms']:6.2f} | {v['max_ms']:7.2f} | {int(v['requests']):>7,} | "
                f"{int(v['non200']):>3} | {sock} | {_cpu_text(r.cpu)}"
            )
            if r.cpu is not None:
                worst_other = max(worst_other, r.cpu.processes)
    w("")
    log_text = server_log.read_text(errors="replace") if server_log.exists() else ""
    counts = ", ".join(f"{k}: {len(p.findall(log_text))}" for k, p in SERVER_LOG_PATTERNS.items())
    w(f"  server log ({server_log.name}): {counts}")
    if discarded:
        w(
            f"  {len(discarded)} run(s) discarded and repeated because other processes took "
            f"over {env.get('BENCH_MAX_OTHER_LOAD', '10')} % of the CPU: {', '.join(discarded)}"
        )
    if worst_other > float(env.get("BENCH_MAX_OTHER_LOAD", "10")):
        w(
            f"  WARNING: up to {worst_other:.0f} % of the CPU went to other processes during a "
            "run: the machine was not quiet, figures are low and noisy (rerun when idle)"
        )
    if failed:
        w("  FAILED: some requests were not answered 200 (see the per-run lines)")
    print("\n".join(out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
