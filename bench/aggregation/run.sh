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

RESULTS="$ROOT/bench/results"
REPORT="${AGG_RESULTS:-$RESULTS/aggregation.txt}"
RAW="${REPORT%.txt}-raw"

STACK_TAG=agg STACK_STORES="$AGG_STORES" STACK_KEYSPACE="$AGG_KEYSPACE"
STACK_KEEP_TMP="$AGG_KEEP_TMP" STACK_RAW="$RAW"
# shellcheck source=bench/aggregation/stack.sh
source "$ROOT/bench/aggregation/stack.sh"

[[ "$AGG_POOL" == prefork || "$AGG_POOL" == solo ]] || die "AGG_POOL must be prefork or solo"
[[ -x "$PY" ]] || die "no venv in $ROOT/.venv: run 'make install'"

# Leaves: enough (user, leaf) pairs for every view end to be a fresh completion, with room so that
# users complete the course at different times (some never).
read -r AGG_LEAVES_AUTO AGG_WARMUP_RATE_AUTO AGG_WARM_USERS < <("$PY" - "$AGG_RATE" \
    "$AGG_DURATION" "$AGG_USERS" "$AGG_WARMUP" "${AGG_LEAVES:-0}" "${AGG_WARMUP_RATE:-0}" <<'PYEOF'
import math, sys
rate, duration, users, warmup, leaves, warm_rate = map(float, sys.argv[1:])
leaves = int(leaves) or max(5, math.ceil(1.25 * rate * duration / users))
warm_rate = warm_rate or max(rate, 100)
print(leaves, f"{warm_rate:g}", max(10, math.ceil(1.25 * warm_rate * warmup / leaves)))
PYEOF
)
AGG_WARMUP_RATE="${AGG_WARMUP_RATE:-$AGG_WARMUP_RATE_AUTO}"
AGG_LEAVES="${AGG_LEAVES:-$AGG_LEAVES_AUTO}"

stack_init
mkdir -p "$(dirname "$REPORT")"
rm -rf "$RAW"
mkdir -p "$RAW"

# --- 1. the stores ------------------------------------------------------------------------
stack_start_stores

# --- 2. the service's configuration, schema and seeds ----------------------------------------
export VIEWER_COMPLETION_WEBHOOKS="[]"
stack_configure
stack_prepare_schema
log "seeding $AGG_USERS users + $AGG_WARM_USERS warm-up users x $AGG_LEAVES leaves"
timeout 900 "$PY" -m bench.aggregation.prepare seed "$AGG_USERS" "$AGG_WARM_USERS" "$AGG_LEAVES" \
    2>&1 | tee "$TMP/prepare.log" >&2
TOKEN="$(stack_issue_token bench-agg-service service)"
stack_use_broker

# --- 3. two Celery workers and gunicorn ------------------------------------------------------
pool_args=(--pool "$AGG_POOL")
if [[ "$AGG_POOL" == prefork ]]; then pool_args+=(--concurrency 1); fi
for i in 1 2; do
    stack_start_worker "$i" "${pool_args[@]}" --include bench.aggregation.probe \
        --loglevel WARNING --without-gossip --without-mingle
done
stack_wait_workers 2
PIDS_CELERY=("$(stack_worker_pid 1)" "$(stack_worker_pid 2)")

stack_start_gunicorn "$AGG_WEB_WORKERS" bench.aggregation.gunicorn_conf
log "gunicorn on $BASE ($AGG_WEB_WORKERS sync workers, pid $PIDS_WEB); celery workers" \
    "${PIDS_CELERY[*]} ($AGG_POOL)"

# --- 4. the load and the report ---------------------------------------------------------------
COMMIT="$(stack_commit)"
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
