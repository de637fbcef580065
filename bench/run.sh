#!/usr/bin/env bash
# Load benchmark (make bench): req/s, p50 and p99 of POST /v1/view/update and /v1/view/read
# beside a bare DRF endpoint served by the same gunicorn, and each one's ratio to bare.
#
# Method (see /work/shared/notes/performance.md): a fresh SQLite database, seeded started views,
# gunicorn with 2 sync workers and no access log, wrk on loopback; a warm-up of each endpoint,
# then BENCH_RUNS runs of each interleaved (bare, update, read, bare, ...); medians and min-max.
# Compare ratios from one run, never absolute figures between machines or runs. The machine has
# two cores shared with everything else: each run waits for the machine to be idle, and a run
# during which other processes took over BENCH_MAX_OTHER_LOAD % of the CPU is discarded and
# repeated (at most BENCH_MAX_RETRIES times). Any non-200 answer fails the benchmark.
#
# Settings (environment): BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (16), BENCH_THREADS
# (2), BENCH_RUNS (3), BENCH_WARMUP (s, 2), BENCH_USERS (1000), BENCH_CONTENTS (4),
# BENCH_WORKERS (2), VIEWER_STORE (sql), BENCH_DATABASE_QUERY (none; experiments only),
# BENCH_WORKER_CLASS (sync) and BENCH_WORKER_THREADS (1) (gthread: experiments only),
# BENCH_IDLE_WAIT (s, 30), BENCH_MAX_OTHER_LOAD (% of CPU, 10), BENCH_MAX_RETRIES (2),
# BENCH_CODE (worktree; head = run the committed HEAD, exported into the temporary directory, with
# this work tree's bench/: other people's unfinished edits neither break nor colour the run).
# The table goes to stdout and bench/results/latest.txt. Authentication is on as in production:
# every request carries a bearer token with the service role (bench/settings.py has the secret).
#
# VIEWER_STORE=cassandra bench/run.sh (or bench/run_cassandra.sh): the same on Cassandra + Redis.
# bench/cassandra.sh starts both through scripts/ (a private node and Redis by default: see
# BENCH_STORES there; stopped at the end), measures Cassandra's start-up (cold and warm), syncs
# the schema into a fresh keyspace (BENCH_KEYSPACE, viewer_bench) and seeds it through the
# service. Beside bare, update and read, the raw stores run interleaved at wrk's concurrency
# (bench/raw_cassandra.py): lwt (view/update's conditional UPDATE through the driver), select
# (view/read's partition slice) and hgetall (Redis HGETALL of the content-status hash);
# BENCH_RAW lists which (default "lwt select hgetall"). The report compares view/update with the
# raw LWT (target >= 0.40) and view/read with the raw HGETALL and SELECT; it goes to
# bench/results/latest-cassandra.txt (raw runs in raw-cassandra/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export BENCH_DURATION="${BENCH_DURATION:-10}"
export BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-16}"
export BENCH_THREADS="${BENCH_THREADS:-2}"
export BENCH_RUNS="${BENCH_RUNS:-3}"
export BENCH_WARMUP="${BENCH_WARMUP:-2}"
export BENCH_USERS="${BENCH_USERS:-1000}"
export BENCH_CONTENTS="${BENCH_CONTENTS:-4}"
export BENCH_WORKERS="${BENCH_WORKERS:-2}"
export BENCH_WORKER_CLASS="${BENCH_WORKER_CLASS:-sync}"
export BENCH_WORKER_THREADS="${BENCH_WORKER_THREADS:-1}"
export BENCH_MAX_OTHER_LOAD="${BENCH_MAX_OTHER_LOAD:-10}"
export BENCH_MAX_RETRIES="${BENCH_MAX_RETRIES:-2}"
export VIEWER_STORE="${VIEWER_STORE:-sql}"
export VIEWER_LOG_LEVEL="${VIEWER_LOG_LEVEL:-WARNING}"

BENCH_STARTED="$(date -u '+%Y-%m-%d %H:%M UTC')"
PY="$ROOT/.venv/bin/python"
GUNICORN="$ROOT/.venv/bin/gunicorn"
RESULTS="$ROOT/bench/results"
RAW="$RESULTS/raw"
REPORT="$RESULTS/latest.txt"
SERVER_LOG="$RESULTS/gunicorn.log"
ENDPOINTS=(bare update read)
declare -A PATHS=([bare]=/bench/bare [update]=/v1/view/update [read]=/v1/view/read)
case "$VIEWER_STORE" in
    sql) ;;
    cassandra)
        RAW="$RESULTS/raw-cassandra"
        REPORT="$RESULTS/latest-cassandra.txt"
        SERVER_LOG="$RESULTS/gunicorn-cassandra.log"
        export BENCH_RAW="${BENCH_RAW:-lwt select hgetall}"
        # Each API endpoint followed by the raw store it is compared with.
        ENDPOINTS=()
        for name in bare update lwt read select hgetall; do
            if [[ -n "${PATHS[$name]:-}" || " $BENCH_RAW " == *" $name "* ]]; then
                ENDPOINTS+=("$name")
            fi
        done
        ;;
    *) echo "bench/run.sh: VIEWER_STORE must be sql or cassandra, not '$VIEWER_STORE'" >&2; exit 2 ;;
esac

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x "$PY" && -x "$GUNICORN" ]] || die "no venv with gunicorn in $ROOT/.venv: run 'make install'"

# --- wrk -------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    [[ "$(id -u)" == 0 ]] || die "wrk is missing: install it (apt-get install -y wrk) or run as root"
    log "installing wrk from Debian"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q wrk >/dev/null; then
        apt-get update -q >/dev/null
        apt-get install -y -q wrk >/dev/null
    fi
fi
command -v timeout >/dev/null || die "coreutils 'timeout' is missing"

# --- a fresh database, seeded ----------------------------------------------------------------
TMP="$(mktemp -d /tmp/viewer-bench.XXXXXX)"
GUNICORN_PID=""
CODE="$ROOT"  # the code under test; bench/results, scripts/ and .venv stay in ROOT
case "${BENCH_CODE:-worktree}" in
    worktree) ;;
    head)
        CODE="$TMP/code"
        mkdir -p "$CODE"
        git -C "$ROOT" archive HEAD | tar -x -C "$CODE"
        rm -rf "$CODE/bench"
        tar -C "$ROOT" --exclude=bench/results --exclude=__pycache__ -c bench | tar -x -C "$CODE"
        cd "$CODE"
        ;;
    *) echo "bench/run.sh: BENCH_CODE must be worktree or head" >&2; exit 2 ;;
esac
if [[ "$VIEWER_STORE" == cassandra ]]; then
    # shellcheck source=bench/cassandra.sh
    source "$ROOT/bench/cassandra.sh"
fi

stop_server() {
    [[ -n "$GUNICORN_PID" ]] || return 0
    local pid="$GUNICORN_PID" children
    GUNICORN_PID=""
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    children="$(pgrep -P "$pid" || true)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do          # up to 10 s for a graceful stop
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "gunicorn $pid did not stop in 10 s: killing it and its workers $children"
        # shellcheck disable=SC2086
        kill -KILL "$pid" $children 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for child in $children; do      # workers exit with their master; make sure of it
        if kill -0 "$child" 2>/dev/null; then kill -KILL "$child" 2>/dev/null || true; fi
    done
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_server
    if [[ -f "$TMP/gunicorn.log" ]]; then cp "$TMP/gunicorn.log" "$SERVER_LOG"; fi
    if [[ "$VIEWER_STORE" == cassandra ]]; then stores_stop; fi
    if [[ "${BENCH_KEEP_TMP:-0}" == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$RESULTS"
rm -rf "$RAW" "$SERVER_LOG"
mkdir -p "$RAW"

export DJANGO_SETTINGS_MODULE=bench.settings
# BENCH_DATABASE_QUERY (e.g. conn_max_age=600) is for experiments only: by default the database
# is configured exactly as the service configures it.
export DATABASE_URL="sqlite:///$TMP/bench.sqlite3${BENCH_DATABASE_QUERY:+?$BENCH_DATABASE_QUERY}"
export PYTHONDONTWRITEBYTECODE=1

log "database $DATABASE_URL"
if [[ "$VIEWER_STORE" == cassandra ]]; then
    stores_start
    stores_prepare
else
    timeout 120 "$PY" manage.py migrate --noinput -v 0
    timeout 120 "$PY" -m bench.seed seed "$BENCH_USERS" "$BENCH_CONTENTS" >&2
fi

# A service token for every request (a backend acting for its users), valid for the whole run.
BENCH_TOKEN="$(timeout 60 "$PY" manage.py issue_token --user bench-service --role service \
    --ttl 86400)"

# --- the server ------------------------------------------------------------------------------
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
log "gunicorn on $BASE ($BENCH_WORKERS $BENCH_WORKER_CLASS workers x $BENCH_WORKER_THREADS" \
    "thread(s), VIEWER_STORE=$VIEWER_STORE)"
"$GUNICORN" config.wsgi:application \
    --chdir "$CODE" \
    --bind "127.0.0.1:$PORT" \
    --config "python:bench.gunicorn_conf" \
    --workers "$BENCH_WORKERS" \
    --worker-class "$BENCH_WORKER_CLASS" \
    --threads "$BENCH_WORKER_THREADS" \
    --timeout 30 \
    --graceful-timeout 5 \
    --error-logfile "$TMP/gunicorn.log" \
    --log-level warning &
GUNICORN_PID=$!

for _ in $(seq 200); do              # up to 20 s to come up
    kill -0 "$GUNICORN_PID" 2>/dev/null || { cat "$TMP/gunicorn.log" >&2; die "gunicorn exited"; }
    if curl -fsS -o /dev/null --max-time 2 "$BASE/health" 2>/dev/null; then break; fi
    sleep 0.1
done
curl -fsS -o /dev/null --max-time 2 "$BASE/health" || die "gunicorn did not answer /health"

# One request of each kind, by hand: a clear message if the bodies or the seeding are wrong.
KEY='"userId":"user-000000","collectionId":"do_21369999999999990001","contextId":"01369999999999990001"'
smoke() {
    local path=$1 body=$2 answer
    answer="$(curl -sS --max-time 5 -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $BENCH_TOKEN" -d "$body" -w '\nHTTP %{http_code}' "$BASE$path")"
    [[ "$answer" == *'HTTP 200' && "$answer" == *'"responseCode":"OK"'* ]] \
        || die "smoke test of $path failed: $answer"
}
smoke /bench/bare '{"request":{"userId":"u"}}'
smoke /v1/view/update "{\"request\":{$KEY,\"contentId\":\"do_2137000000000000000000\",\"progress\":0,\"progressDetails\":{\"page\":1}}}"
smoke /v1/view/read "{\"request\":{$KEY,\"contentId\":[\"do_2137000000000000000000\"]}}"

# --- the runs --------------------------------------------------------------------------------
# Figures only mean something on an otherwise idle machine (the notes' figures were taken on one):
# before each run, wait up to BENCH_IDLE_WAIT seconds (default 30) for other processes to use
# under 15 % of the CPUs, then go on regardless. The report shows, per run, the share of CPU that
# went to other processes, and warns when it was high.
busy_percent() {  # whole machine, over half a second
    local a b i idle total=0
    read -r -a a < <(head -1 /proc/stat)
    sleep 0.5
    read -r -a b < <(head -1 /proc/stat)
    idle=$(((b[4] + b[5]) - (a[4] + a[5])))
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    echo $((total > 0 ? 100 * (total - idle) / total : 0))
}
wait_for_idle() {
    local busy waited=0
    while busy="$(busy_percent)" && ((busy >= 15)); do
        if ((waited >= ${BENCH_IDLE_WAIT:-30} * 2)); then
            log "WARNING: the machine is still ${busy} % busy with other work: figures will be low"
            return 0
        fi
        ((waited > 0)) || log "the machine is ${busy} % busy with other work: waiting for it to calm down"
        waited=$((waited + 1))
    done
}

server_ticks() {  # CPU ticks (user + system) used so far by gunicorn's master and workers
    local pid total=0 fields
    for pid in "$GUNICORN_PID" $(pgrep -P "$GUNICORN_PID" || true); do
        read -r -a fields <"/proc/$pid/stat" 2>/dev/null || continue
        total=$((total + fields[13] + fields[14]))
    done
    echo "$total"
}

# CPU accounting around each run, for bench/report.py: the machine's /proc/stat line, the
# server's ticks and this shell's children's times (wrk's CPU). What is left of the machine's
# busy time is other load (plus the kernel's loopback networking) and makes figures unreliable.
cpu_marks() {  # BEFORE|AFTER
    printf 'BENCH_CPU_%s %s\n' "$1" "$(head -1 /proc/stat)"
    printf 'BENCH_SERVER_TICKS_%s %s\n' "$1" "$(server_ticks)"
    printf 'BENCH_SERVER_PIDS_%s %s %s\n' "$1" "$GUNICORN_PID" \
        "$(pgrep -P "$GUNICORN_PID" | tr '\n' ' ' || true)"
    if [[ "$VIEWER_STORE" == cassandra ]]; then  # Cassandra's JVM and Redis: the stores' share
        printf 'BENCH_STORE_PIDS_%s %s\n' "$1" "$(store_pids)"
    fi
    times >"$TMP/times"  # in this shell: a subshell would not see wrk's (or raw runs') times
    printf 'BENCH_TIMES_%s %s\n' "$1" "$(tail -1 "$TMP/times")"
    # Every process: pid, start time, name, parent pid (2: a kernel thread), user + system ticks.
    cat /proc/[0-9]*/stat 2>/dev/null \
        | awk -v when="$1" '{ print "BENCH_PROC_" when, $1, $22, $2, $4, $14 + $15 }' || true
}

run_wrk() {  # endpoint label seconds: one run, repeated if other processes disturbed it
    local name=$1 label=$2 seconds=$3 attempt other
    for attempt in $(seq 0 "$BENCH_MAX_RETRIES"); do
        run_wrk_once "$name" "$label" "$seconds"
        other="$("$PY" -m bench.report other-load "$RAW/$name-$label.txt")"
        ((other > BENCH_MAX_OTHER_LOAD)) || return 0
        if ((attempt < BENCH_MAX_RETRIES)); then
            log "$name ($label): other processes took $other % of the CPU: run discarded, repeating"
            mv "$RAW/$name-$label.txt" "$RAW/$name-$label.discarded-$((attempt + 1)).txt"
        else
            log "WARNING: $name ($label): other processes took $other % of the CPU; kept anyway"
        fi
    done
}

run_wrk_once() {  # endpoint label seconds (an endpoint without a path is a raw-store run)
    local name=$1 label=$2 seconds=$3 out line
    out="$RAW/$name-$label.txt"
    wait_for_idle
    cpu_marks BEFORE >"$out"
    if [[ -z "${PATHS[$name]:-}" ]]; then
        # In this shell, not a subshell: its CPU shows in `times` like wrk's.
        if ! run_raw "$name" "$seconds" >>"$out"; then
            cat "$out" >&2
            die "raw run failed on $name ($label)"
        fi
    elif ! timeout -k 5 $((seconds + 30)) wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" \
        -d"${seconds}s" --latency -s "$ROOT/bench/$name.lua" "$BASE${PATHS[$name]}" \
        -- "$BENCH_USERS" "$BENCH_CONTENTS" "$BENCH_TOKEN" >>"$out" 2>&1; then
        cat "$out" >&2
        die "wrk failed on $name ($label)"
    fi
    cpu_marks AFTER >>"$out"
    kill -0 "$GUNICORN_PID" 2>/dev/null || die "gunicorn died during $name ($label)"
    line="$(grep '^BENCH requests=' "$out" || true)"
    [[ -n "$line" ]] || { cat "$out" >&2; die "no summary from wrk on $name ($label)"; }
    log "$(printf '%-6s %-6s' "$name" "$label") $(tr ' ' '\n' <<<"$line" \
        | grep -E '^(rps|p50_ms|p99_ms|non200)=' | tr '\n' ' ')"
    if grep -qE '^BENCH_FAILED|^  Non-2xx or 3xx responses' "$out" \
        || ! grep -q ' non200=0 ' <<<"$line" || ! grep -q ' err_status=0 ' <<<"$line"; then
        cat "$out" >&2
        die "$name ($label): some requests were not answered 200 - figures are meaningless"
    fi
}

for name in "${ENDPOINTS[@]}"; do
    run_wrk_once "$name" warmup "$BENCH_WARMUP"
    log "$name: $(grep -m1 -E '^BENCH_(BODY|STATEMENT|COMMAND)' "$RAW/$name-warmup.txt" \
        | cut -d' ' -f2-)"
done
for run in $(seq "$BENCH_RUNS"); do
    for name in "${ENDPOINTS[@]}"; do run_wrk "$name" "$run" "$BENCH_DURATION"; done
done

stop_server
timeout 60 "$PY" -m bench.seed verify "$BENCH_USERS" "$BENCH_CONTENTS" >&2 \
    || die "the seeded rows are not as expected after the runs"

# --- the report ------------------------------------------------------------------------------
BENCH_GIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
if [[ "$CODE" != "$ROOT" ]]; then
    BENCH_GIT="$BENCH_GIT (exported HEAD; bench/ from the work tree)"
elif [[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]]; then
    BENCH_GIT="$BENCH_GIT (+ uncommitted changes)"
fi
WRK_VERSION="$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2 || true)"
BENCH_MACHINE="$(nproc) CPUs, $("$PY" -c 'import platform, sqlite3; print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")'), $WRK_VERSION"
export BENCH_STARTED BENCH_GIT BENCH_MACHINE
status=0
"$PY" -m bench.report "$RAW" "$TMP/gunicorn.log" >"$REPORT" || status=$?
cat "$REPORT"
[[ "$status" == 0 ]] || die "some requests failed: see $REPORT"
