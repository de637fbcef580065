#!/usr/bin/env bash
# Aggregation benchmark: view ends at a fixed rate against the Cassandra + Redis stack with two
# Celery worker processes; prints achieved view ends/s, recomputes/s, the coalescing ratio and the
# lag (p50/p99) from a view end to the summary showing it. Target: lag p99 <= 2 s at 200/s.
#
#   bench/aggregation/run.sh                      200 view ends/s for 30 s (defaults below)
#   AGG_RATE=100 AGG_DURATION=60 bench/aggregation/run.sh
#
# What it does (every process it starts is stopped at the end, by its pid):
#  1. Cassandra and Redis through scripts/cassandra/ctl.sh and scripts/redis.sh. AGG_STORES=private
#     (default): a node and a Redis of the run's own, in its temporary directory, on free ports
#     that are not the defaults (the jars are .local/cassandra's, fetched there if missing); no one
#     else's data is touched, no test run flushes our broker, and nobody else's load lands on our
#     node. AGG_STORES=shared: the scripts' default state directories (.local/), used if running
#     and left running, else started and stopped at the end; Redis db 14 (coordination + status
#     map) and 15 (broker) are FLUSHED then.
#  2. A fresh keyspace (AGG_KEYSPACE, dropped first; manage.py sync_cassandra), a fresh SQLite file
#     for the relational database (manage.py migrate), the catalogue (one collection of
#     AGG_LEAVES leaves in two units, one batch context) and AGG_USERS users + warm-up users, each
#     with a started view of every leaf and an enrolment (bench/aggregation/prepare.py, through
#     the services, recomputes in-process: nothing queued before the workers start).
#  3. Two Celery worker processes (`celery -A config worker`, AGG_POOL=prefork with concurrency 1,
#     or solo) on CELERY_BROKER_URL = Redis db 1 (REDIS_URL, which the coordination and the status
#     map use, is db 0), with bench/aggregation/probe.py included (it records every task and
#     every summary written); gunicorn with 2 sync workers. Settings config.settings.local with
#     authentication ON (a service token signed with a per-run VIEWER_JWT_SECRET), DEBUG off, log
#     level WARNING, strict mode.
#  4. bench/aggregation/drive.py: warm-up on the warm-up users, drain, then the measured phase
#     (open loop, fixed schedule; see its docstring for how lag and recomputes are measured),
#     drain, a check of every measured summary, the report.
#
# Settings (environment): AGG_RATE (view ends/s, 200), AGG_DURATION (s, 30), AGG_WARMUP (s, 15)
# at AGG_WARMUP_RATE (view ends/s, default max(rate, 100): the JVM's JIT needs thousands of
# statements before Cassandra's CPU cost per request settles; the warm-up is drained before the
# measured phase),
# AGG_USERS (1000), AGG_LEAVES (default: max(5, ceil(1.25 x rate x duration / users)), so that every
# view end is a fresh completion and not every user completes the course), AGG_SAMPLE_EVERY (20:
# every 20th view end's lag is also polled from the store, as a cross-check), AGG_POLL_MS (100),
# AGG_SENDERS (64), AGG_IDLE_WAIT (s, 300: before the measured phase, wait until processes other
# than the benchmark's use under 10 % of a core and the benchmark's own stack has settled, under
# 30 % of a core),
# AGG_POOL (prefork|solo), AGG_WEB_WORKERS (2), AGG_STORES (private|shared),
# AGG_KEYSPACE (viewer_bench_agg), AGG_DRAIN_TIMEOUT (s, 600), AGG_KEEP_TMP (0|1).
# Report: stdout and AGG_RESULTS (bench/results/aggregation.txt); raw data (every view end, every
# task record, the broker backlog, the server logs) beside it in <report>-raw/ (bench/results/ is
# git-ignored). Exit status 3 when the target is not met, 1 on a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

AGG_RATE="${AGG_RATE:-200}"
AGG_DURATION="${AGG_DURATION:-30}"
AGG_WARMUP="${AGG_WARMUP:-15}"
AGG_USERS="${AGG_USERS:-1000}"
AGG_SAMPLE_EVERY="${AGG_SAMPLE_EVERY:-20}"
AGG_POLL_MS="${AGG_POLL_MS:-100}"
AGG_SENDERS="${AGG_SENDERS:-64}"
AGG_POOL="${AGG_POOL:-prefork}"
AGG_WEB_WORKERS="${AGG_WEB_WORKERS:-2}"
AGG_STORES="${AGG_STORES:-private}"
AGG_KEYSPACE="${AGG_KEYSPACE:-viewer_bench_agg}"
AGG_DRAIN_TIMEOUT="${AGG_DRAIN_TIMEOUT:-600}"
AGG_KEEP_TMP="${AGG_KEEP_TMP:-0}"
AGG_IDLE_WAIT="${AGG_IDLE_WAIT:-300}"

PY="$ROOT/.venv/bin/python"
GUNICORN="$ROOT/.venv/bin/gunicorn"
CELERY="$ROOT/.venv/bin/celery"
CTL="$ROOT/scripts/cassandra/ctl.sh"
REDIS_SH="$ROOT/scripts/redis.sh"
RESULTS="$ROOT/bench/results"
REPORT="${AGG_RESULTS:-$RESULTS/aggregation.txt}"
RAW="${REPORT%.txt}-raw"

log() { printf '[agg %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x "$PY" && -x "$GUNICORN" && -x "$CELERY" ]] || die "no venv in $ROOT/.venv: run 'make install'"
[[ "$AGG_POOL" == prefork || "$AGG_POOL" == solo ]] || die "AGG_POOL must be prefork or solo"
command -v curl >/dev/null || die "curl is missing"

# Leaves: enough (user, leaf) pairs for every view end to be a fresh completion, with room so that
# users complete the course at different times (some never).
read -r AGG_LEAVES_AUTO AGG_WARMUP_RATE_AUTO AGG_WARM_USERS < <("$PY" - "$AGG_RATE" \
    "$AGG_DURATION" "$AGG_USERS" "$AGG_WARMUP" "${AGG_LEAVES:-0}" "${AGG_WARMUP_RATE:-0}" <<'EOF'
import math, sys
rate, duration, users, warmup, leaves, warm_rate = map(float, sys.argv[1:])
leaves = int(leaves) or max(5, math.ceil(1.25 * rate * duration / users))
warm_rate = warm_rate or max(rate, 100)
print(leaves, f"{warm_rate:g}", max(10, math.ceil(1.25 * warm_rate * warmup / leaves)))
EOF
)
AGG_WARMUP_RATE="${AGG_WARMUP_RATE:-$AGG_WARMUP_RATE_AUTO}"
AGG_LEAVES="${AGG_LEAVES:-$AGG_LEAVES_AUTO}"

TMP="$(mktemp -d /tmp/viewer-agg.XXXXXX)"
PIDS_WEB=""
PIDS_CELERY=()
STORES_STARTED=()

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

case "$AGG_STORES" in
    private)
        CASS_DIR="$TMP/cassandra"
        REDIS_STATE="$TMP/redis"
        REDIS_DB=0
        BROKER_DB=1
        export CASSANDRA_NATIVE_PORT CASSANDRA_STORAGE_PORT REDIS_PREFERRED_PORT
        CASSANDRA_NATIVE_PORT="$(free_port)"
        CASSANDRA_STORAGE_PORT="$(free_port)"
        REDIS_PREFERRED_PORT="$(free_port)"
        ;;
    shared)
        CASS_DIR="${CASSANDRA_DIR:-$ROOT/.local/cassandra}"
        REDIS_STATE="${REDIS_DIR:-$ROOT/.local/redis}"
        REDIS_DB=14
        BROKER_DB=15
        ;;
    *) die "AGG_STORES must be private or shared, not '$AGG_STORES'" ;;
esac
ctl() { CASSANDRA_DIR="$CASS_DIR" "$CTL" "$@"; }
redis_ctl() { REDIS_DIR="$REDIS_STATE" "$REDIS_SH" "$@"; }
status_pid() { "$@" status 2>/dev/null | sed -n 's/.*(pid \([0-9][0-9]*\)).*/\1/p' || true; }

# shellcheck disable=SC2317  # stop_pid and cleanup run from the EXIT trap
# stop_pid NAME PID SECONDS: SIGTERM, SIGKILL after SECONDS, and the same for its children.
stop_pid() {
    local name=$1 pid=$2 seconds=$3 children i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    children="$(pgrep -P "$pid" || true)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name ($pid) did not stop in ${seconds} s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for child in $children; do
        if kill -0 "$child" 2>/dev/null; then kill -KILL "$child" 2>/dev/null || true; fi
    done
}

# shellcheck disable=SC2317
cleanup() {
    local status=$? i
    trap - EXIT INT TERM
    if [[ -n "$PIDS_WEB" ]]; then stop_pid gunicorn "$PIDS_WEB" 10; fi
    for i in "${!PIDS_CELERY[@]}"; do
        stop_pid "celery worker $((i + 1))" "${PIDS_CELERY[i]}" 20
    done
    mkdir -p "$RAW"
    for f in gunicorn.log celery-1.log celery-2.log prepare.log sync_cassandra.log; do
        if [[ -f "$TMP/$f" ]]; then cp "$TMP/$f" "$RAW/$f"; fi
    done
    for ((i = ${#STORES_STARTED[@]} - 1; i >= 0; i--)); do
        case "${STORES_STARTED[i]}" in
            cassandra) ctl stop || log "WARNING: ctl.sh stop failed: check $CASS_DIR" ;;
            redis) redis_ctl stop || log "WARNING: redis.sh stop failed: check $REDIS_STATE" ;;
        esac
    done
    if [[ "$AGG_KEEP_TMP" == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$(dirname "$REPORT")"
rm -rf "$RAW"
mkdir -p "$RAW"

# --- 1. the stores ------------------------------------------------------------------------
log "stores: $AGG_STORES (Cassandra state in $CASS_DIR, Redis in $REDIS_STATE)"
if [[ "$AGG_STORES" == private ]]; then
    rc=0
    "$CTL" fetch || rc=$?   # the jars, once, in .local/cassandra/lib (a no-op when present)
    ((rc != 3)) || die "Cassandra cannot run on this machine (ctl.sh exit 3: see above)"
    ((rc == 0)) || die "scripts/cassandra/ctl.sh fetch failed (exit $rc)"
    mkdir -p "$CASS_DIR"
    ln -sfn "$ROOT/.local/cassandra/lib" "$CASS_DIR/lib"
fi
if redis_ctl status >/dev/null 2>&1; then
    log "Redis already running: used and left running ($(redis_ctl status))"
else
    STORES_STARTED+=(redis)
    redis_ctl start || die "scripts/redis.sh start failed"
fi
if ctl status >/dev/null 2>&1; then
    log "Cassandra already running: used and left running ($(ctl status))"
else
    STORES_STARTED+=(cassandra)
    rc=0
    ctl start || rc=$?
    ((rc != 3)) || die "Cassandra cannot run on this machine (ctl.sh exit 3: see above)"
    ((rc == 0)) || die "scripts/cassandra/ctl.sh start failed (exit $rc)"
fi
set -a
eval "$(ctl env)"
eval "$(redis_ctl env)"
set +a
REDIS_BASE="${REDIS_URL%/*}"
export REDIS_URL="$REDIS_BASE/$REDIS_DB"
BROKER_URL="$REDIS_BASE/$BROKER_DB"
CASSANDRA_VERSION="$(ctl status | sed -n 's/^running: Cassandra \([^ ]*\) .*/\1/p')"
REDIS_VERSION="$(redis-server --version | sed -n 's/.* v=\([^ ]*\) .*/\1/p')"
CASSANDRA_PID="$(status_pid ctl)"
REDIS_PID="$(status_pid redis_ctl)"
if [[ "$AGG_STORES" == shared ]]; then
    log "FLUSHDB of Redis db $REDIS_DB and $BROKER_DB (AGG_STORES=shared)"
    redis-cli -u "$REDIS_URL" flushdb >/dev/null
    redis-cli -u "$BROKER_URL" flushdb >/dev/null
fi

# --- 2. the service's configuration, schema and seeds ----------------------------------------
export DJANGO_SETTINGS_MODULE=config.settings.local
export DATABASE_URL="sqlite:///$TMP/db.sqlite3"
export VIEWER_STORE=cassandra CASSANDRA_KEYSPACE="$AGG_KEYSPACE"
export VIEWER_AUTH=true DJANGO_DEBUG=false VIEWER_LOG_LEVEL=WARNING VIEWER_MODE=strict
export VIEWER_THROTTLE_USER="" VIEWER_THROTTLE_ANON="" VIEWER_COMPLETION_WEBHOOKS="[]"
export VIEWER_MEDIA_ROOT="$TMP/media" PYTHONDONTWRITEBYTECODE=1
VIEWER_JWT_SECRET="$("$PY" -c 'import secrets; print(secrets.token_hex(32))')"
export VIEWER_JWT_SECRET
export CELERY_BROKER_URL=""   # seeding: recomputes in-process, nothing queued

log "Cassandra $CASSANDRA_VERSION on $CASSANDRA_HOSTS:$CASSANDRA_PORT (keyspace $AGG_KEYSPACE);" \
    "Redis $REDIS_VERSION: coordination $REDIS_URL, broker $BROKER_URL; database $DATABASE_URL"
timeout 120 "$PY" -m bench.aggregation.prepare drop-keyspace >&2
timeout 300 "$PY" manage.py sync_cassandra >"$TMP/sync_cassandra.log" 2>&1 \
    || { cat "$TMP/sync_cassandra.log" >&2; die "manage.py sync_cassandra failed"; }
timeout 120 "$PY" manage.py migrate --noinput -v 0
log "seeding $AGG_USERS users + $AGG_WARM_USERS warm-up users x $AGG_LEAVES leaves"
timeout 900 "$PY" -m bench.aggregation.prepare seed "$AGG_USERS" "$AGG_WARM_USERS" "$AGG_LEAVES" \
    2>&1 | tee "$TMP/prepare.log" >&2
TOKEN="$(timeout 60 "$PY" manage.py issue_token --user bench-agg-service --role service \
    --ttl 86400)"
export CELERY_BROKER_URL="$BROKER_URL"

# --- 3. two Celery workers and gunicorn ------------------------------------------------------
pool_args=(--pool "$AGG_POOL")
if [[ "$AGG_POOL" == prefork ]]; then pool_args+=(--concurrency 1); fi
for i in 1 2; do
    "$CELERY" -A config worker "${pool_args[@]}" --include bench.aggregation.probe \
        --hostname "agg$i@%h" --loglevel WARNING --without-gossip --without-mingle \
        </dev/null >>"$TMP/celery-$i.log" 2>&1 &
    PIDS_CELERY+=($!)
done
timeout 90 "$PY" -m bench.aggregation.prepare wait-workers 2 60 >&2 \
    || { tail -n 30 "$TMP"/celery-*.log >&2; die "the Celery workers did not come up"; }

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
"$GUNICORN" config.wsgi:application \
    --chdir "$ROOT" \
    --bind "127.0.0.1:$PORT" \
    --config "python:bench.aggregation.gunicorn_conf" \
    --workers "$AGG_WEB_WORKERS" \
    --worker-class sync \
    --timeout 30 \
    --graceful-timeout 5 \
    --error-logfile "$TMP/gunicorn.log" \
    --log-level warning </dev/null &
PIDS_WEB=$!
for _ in $(seq 200); do
    kill -0 "$PIDS_WEB" 2>/dev/null || { cat "$TMP/gunicorn.log" >&2; die "gunicorn exited"; }
    if curl -fsS -o /dev/null --max-time 2 "$BASE/health" 2>/dev/null; then break; fi
    sleep 0.1
done
curl -fsS -o /dev/null --max-time 2 "$BASE/ready" || die "gunicorn is not ready ($BASE/ready)"
log "gunicorn on $BASE ($AGG_WEB_WORKERS sync workers, pid $PIDS_WEB); celery workers" \
    "${PIDS_CELERY[*]} ($AGG_POOL)"

# --- 4. the load and the report ---------------------------------------------------------------
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    COMMIT="$COMMIT + uncommitted changes"
fi
pool_note="$AGG_POOL"
if [[ "$AGG_POOL" == prefork ]]; then pool_note="prefork, concurrency 1"; fi
note_stack="commit $COMMIT; $(nproc) CPUs; stores $AGG_STORES: Cassandra $CASSANDRA_VERSION"
note_stack+=", Redis $REDIS_VERSION"
note_service="gunicorn $AGG_WEB_WORKERS sync workers; 2 Celery workers ($pool_note), broker"
note_service+=" Redis db $BROKER_DB; strict mode; auth on"
rc=0
timeout -k 10 $((AGG_WARMUP + AGG_DURATION + 2 * AGG_DRAIN_TIMEOUT + AGG_IDLE_WAIT + 300)) \
    "$PY" -m bench.aggregation.drive \
    --base-url "$BASE" --token "$TOKEN" \
    --rate "$AGG_RATE" --duration "$AGG_DURATION" --warmup "$AGG_WARMUP" \
    --warmup-rate "$AGG_WARMUP_RATE" \
    --users "$AGG_USERS" --warm-users "$AGG_WARM_USERS" --leaves "$AGG_LEAVES" \
    --sample-every "$AGG_SAMPLE_EVERY" --poll-ms "$AGG_POLL_MS" --senders "$AGG_SENDERS" \
    --drain-timeout "$AGG_DRAIN_TIMEOUT" \
    --pid "gunicorn ($AGG_WEB_WORKERS sync workers)=$PIDS_WEB" \
    --pid "celery worker 1=${PIDS_CELERY[0]}" --pid "celery worker 2=${PIDS_CELERY[1]}" \
    --pid "cassandra=$CASSANDRA_PID" --pid "redis=$REDIS_PID" \
    --note "$note_stack" --note "$note_service" \
    --idle-wait "$AGG_IDLE_WAIT" \
    --results "$REPORT" --raw "$RAW" || rc=$?
case "$rc" in
    0) log "target met; report in $REPORT" ;;
    3) log "target NOT met; report in $REPORT" ;;
    *) die "the driver failed (exit $rc)" ;;
esac
exit "$rc"
