"""Summarise the wrk runs of bench/run.sh into one table (stdout).

    python -m bench.report RAW_DIR SERVER_LOG
    python -m bench.report other-load RUN_FILE   # % of CPU other processes took in one run

RAW_DIR holds one file per wrk run, named ``<endpoint>-<run>.txt`` (``-warmup`` runs are
ignored), each with the ``BENCH ...`` line printed by bench/common.lua and the /proc/stat lines
run.sh wrote around the run. Settings of the run come from the BENCH_* environment variables.
Exit status 1 when any run saw a non-2xx answer or a socket error status.
"""

import os
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ENDPOINTS = [
    # (file name, label, target ratio to bare)
    ("bare", "bare DRF POST /bench/bare", None),
    ("update", "POST /v1/view/update", 0.50),
    ("read", "POST /v1/view/read", 0.60),
]
SERVER_LOG_PATTERNS = {
    "database is locked": re.compile(r"database is locked", re.IGNORECASE),
    "worker timeouts": re.compile(r"WORKER TIMEOUT"),
    "tracebacks": re.compile(r"^Traceback", re.MULTILINE),
    "errors logged": re.compile(r"\bERROR\b"),
}


@dataclass
class Cpu:
    """Shares of the machine's CPU time (all cores = 100 %) during one run."""

    busy: float
    server: float
    wrk: float
    # Of the rest: other processes alive at the end of the run, kernel threads (e.g. ext4's
    # journal and writeback, working for SQLite's files too), and what no living process
    # accounts for (interrupts, softirq of the loopback network, processes that came and went).
    processes: float = 0.0
    kernel_threads: float = 0.0
    top: str = ""

    @property
    def other(self) -> float:
        return max(0.0, self.busy - self.server - self.wrk)


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
    procs_before, procs_after = _processes(text, "BEFORE"), _processes(text, "AFTER")
    processes = kernel = 0
    used: list[tuple[int, str]] = []
    for key, (name, is_kernel, ticks) in procs_after.items():
        if key[0] in server_pids:
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
    return (
        f"{cpu.busy:3.0f} = {cpu.server:3.0f} + {cpu.wrk:3.0f} + {cpu.other:3.0f} "
        f"(processes {cpu.processes:.0f}, kernel threads {cpu.kernel_threads:.0f}; {cpu.top})"
    )


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
    runs: dict[str, list[Run]] = {}
    discarded = sorted(p.name for p in raw.glob("*.discarded-*.txt"))
    for name, _, _ in ENDPOINTS:
        files = sorted(
            (p for p in raw.glob(f"{name}-*.txt") if re.fullmatch(rf"{name}-\d+\.txt", p.name)),
            key=lambda p: int(p.stem.split("-")[1]),
        )
        runs[name] = [read_run(p) for p in files]
        if not runs[name]:
            raise SystemExit(f"no runs of {name} in {raw}")

    medians = {name: statistics.median(r.values["rps"] for r in rs) for name, rs in runs.items()}
    out: list[str] = []
    w = out.append
    w(f"Viewer load benchmark  {env.get('BENCH_STARTED', '')}")
    w(f"  code:    git {env.get('BENCH_GIT', '?')}")
    w(
        f"  server:  gunicorn {env.get('BENCH_WORKERS', '2')} sync workers, no access log, "
        f"DJANGO_SETTINGS_MODULE=bench.settings (DEBUG off), VIEWER_STORE="
        f"{env.get('VIEWER_STORE', 'sql')}, fresh SQLite (WAL) with "
        f"{env.get('BENCH_USERS', '?')} users x {env.get('BENCH_CONTENTS', '?')} contents started"
    )
    if env.get("BENCH_DATABASE_QUERY"):
        w(f"  EXPERIMENT: DATABASE_URL ?{env['BENCH_DATABASE_QUERY']} (not the service default)")
    w(
        f"  load:    wrk -t{env.get('BENCH_THREADS', '?')} -c{env.get('BENCH_CONNECTIONS', '?')} "
        f"-d{env.get('BENCH_DURATION', '?')}s --latency, {len(runs['bare'])} run(s) per endpoint "
        f"interleaved (bare, update, read, ...) after a {env.get('BENCH_WARMUP', '?')} s warm-up "
        "of each; ~300-byte JSON bodies"
    )
    w(f"  machine: {env.get('BENCH_MACHINE', '?')}")
    w("")
    w("  median (min-max) of the runs; ratio = median req/s / median req/s of bare")
    header = (
        f"  {'endpoint':<27} {'req/s':>24} {'p50 ms':>20} {'p99 ms':>22} "
        f"{'/ bare':>7} {'target':>8}  {'CPU busy':>8}"
    )
    w(header)
    w("  " + "-" * (len(header) - 2))
    verdicts: list[str] = []
    for name, label, target in ENDPOINTS:
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
            f"{ratio:>7.2f} {target_text:>8}  "
            f"{(str(round(statistics.median(busy))) + ' %') if busy else '?':>8}"
        )
    w("")
    for line in verdicts:
        w(f"  {line}")
    w("")
    w(
        "  per run: req/s | p50 ms | p99 ms | max ms | requests | non-200 | socket errors | "
        "CPU % of the machine: busy = server + wrk + rest (of which other processes, kernel "
        "threads; top 3 of them)"
    )
    failed = False
    worst_other = 0.0
    for name, label, _ in ENDPOINTS:
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
