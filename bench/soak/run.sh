#!/usr/bin/env bash
# Fault soak: a mixed learner load on the Cassandra + Redis stack with two Celery workers while
# Redis restarts, a worker is SIGKILLed (then restarted) and Cassandra is frozen for 10 s; then
# checks that nothing acknowledged was lost, no status went down, every summary equals a
# recompute from scratch and every completion webhook arrived exactly once.
#
#   bench/soak/run.sh                      about 5 minutes of load (then drain and checks)
#   SOAK_DURATION=90 bench/soak/run.sh     a shorter run
#   make soak
#
# What it does (every process it starts is stopped at the end, by its pid; the stack is the
# aggregation benchmark's, bench/aggregation/stack.sh):
#  1. Cassandra and Redis of its own, always (it restarts and freezes them): a node and a Redis
#     in the run's temporary directory, on free ports that are not the defaults; nobody else's
#     data is touched and nobody else's load lands on them.
#  2. A fresh keyspace (SOAK_KEYSPACE) and SQLite file; the catalogue (bench/soak/prepare.py: one
#     course of six leaves, two of them assessments, in two batches).
#  3. The webhook receiver (bench/soak/receiver.py, records every delivery), two Celery workers
#     (prefork, concurrency 1, acks late, prefetch 1), celery beat (the sweep), gunicorn with
#     SOAK_WEB_WORKERS sync workers; auth on (each learner has its own token), strict mode,
#     VIEWER_COMPLETION_WEBHOOKS = the receiver, signed with a per-run VIEWER_WEBHOOK_SECRET.
#  4. bench/soak/drive.py: the load, the faults, the drain, the checks and the report (see its
#     docstring for exactly what is checked).
#
# Settings (environment): SOAK_DURATION (s of load, 300), SOAK_CLIENTS (virtual learners at once,
# 12), SOAK_THINK_MS (mean pause between a learner's requests, 150), SOAK_TIMEOUT (client time-out,
# s, 15), SOAK_FREEZE (s Cassandra stays frozen, 10), SOAK_REDIS_RESTART (save: the restart keeps
# Redis's data, as a broker with persistence does; flush: it loses it), SOAK_DRAIN_TIMEOUT (s, 600),
# SOAK_VISIBILITY_TIMEOUT (s, 120: CELERY_VISIBILITY_TIMEOUT of the workers, after which the
# broker hands out again what the killed worker had taken; the service's default, 900 s, would
# outlast a 5-minute soak),
# SOAK_WEB_WORKERS (2), SOAK_KEYSPACE (viewer_bench_soak),
# SOAK_KEEP_TMP (0|1), SOAK_RESULTS (bench/results/soak.txt; raw data in <report>-raw/).
# Exit status: 0 when every check passed, 3 when one failed (lost writes, lowered statuses,
# mismatched summaries, duplicate or missing webhooks, no drain), 1 when the soak itself failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

SOAK_DURATION="${SOAK_DURATION:-300}"
SOAK_CLIENTS="${SOAK_CLIENTS:-12}"
SOAK_THINK_MS="${SOAK_THINK_MS:-150}"
SOAK_TIMEOUT="${SOAK_TIMEOUT:-15}"
SOAK_FREEZE="${SOAK_FREEZE:-10}"
SOAK_REDIS_RESTART="${SOAK_REDIS_RESTART:-save}"
SOAK_DRAIN_TIMEOUT="${SOAK_DRAIN_TIMEOUT:-600}"
SOAK_VISIBILITY_TIMEOUT="${SOAK_VISIBILITY_TIMEOUT:-120}"
SOAK_WEB_WORKERS="${SOAK_WEB_WORKERS:-2}"
SOAK_KEYSPACE="${SOAK_KEYSPACE:-viewer_bench_soak}"
SOAK_KEEP_TMP="${SOAK_KEEP_TMP:-0}"

RESULTS="$ROOT/bench/results"
REPORT="${SOAK_RESULTS:-$RESULTS/soak.txt}"
RAW="${REPORT%.txt}-raw"

STACK_TAG=soak STACK_STORES=private STACK_KEYSPACE="$SOAK_KEYSPACE"
STACK_KEEP_TMP="$SOAK_KEEP_TMP" STACK_RAW="$RAW"
# shellcheck source=bench/aggregation/stack.sh
source "$ROOT/bench/aggregation/stack.sh"

command -v redis-cli >/dev/null || die "redis-cli is missing (apt-get install redis-server)"
stack_init
STACK_EXTRA_LOGS+=(receiver.log webhooks.jsonl beat.log)
mkdir -p "$(dirname "$REPORT")"
rm -rf "$RAW"
mkdir -p "$RAW"

# --- 1. the stores ------------------------------------------------------------------------
stack_start_stores
[[ -n "$CASSANDRA_PID" ]] || die "no pid for Cassandra"

# --- 2. configuration, schema, catalogue ------------------------------------------------------
VIEWER_WEBHOOK_SECRET="$("$PY" -c 'import secrets; print(secrets.token_hex(32))')"
export VIEWER_WEBHOOK_SECRET
"$PY" -m bench.soak.receiver "$TMP/receiver.port" "$TMP/webhooks.jsonl" \
    </dev/null >"$TMP/receiver.log" 2>&1 &
PIDS_OTHER+=($!)
for _ in $(seq 100); do [[ -s "$TMP/receiver.port" ]] && break; sleep 0.1; done
[[ -s "$TMP/receiver.port" ]] || { cat "$TMP/receiver.log" >&2; die "the webhook receiver did not start"; }
# shellcheck disable=SC2089,SC2090  # a JSON list, exported as it is
printf -v VIEWER_COMPLETION_WEBHOOKS '["http://127.0.0.1:%s/hooks/completed"]' \
    "$(<"$TMP/receiver.port")"
# shellcheck disable=SC2090
export VIEWER_COMPLETION_WEBHOOKS

export CELERY_VISIBILITY_TIMEOUT="$SOAK_VISIBILITY_TIMEOUT"
stack_configure
stack_prepare_schema
timeout 300 "$PY" -m bench.soak.prepare seed 2>&1 | tee "$TMP/prepare.log" >&2
SERVICE_TOKEN="$(stack_issue_token bench-soak-checker service)"
stack_use_broker

# --- 3. workers, beat, gunicorn -----------------------------------------------------------------
for i in 1 2; do
    stack_start_worker "$i" --pool prefork --concurrency 1 --loglevel WARNING \
        --without-gossip --without-mingle
done
stack_wait_workers 2
"$CELERY" -A config beat --loglevel WARNING --schedule "$TMP/beat-schedule" \
    --pidfile "$TMP/beat.pid" </dev/null >"$TMP/beat.log" 2>&1 &
PIDS_OTHER+=($!)
stack_start_gunicorn "$SOAK_WEB_WORKERS"
log "gunicorn on $BASE ($SOAK_WEB_WORKERS sync workers, pid $PIDS_WEB); celery workers" \
    "$(stack_worker_pid 1) $(stack_worker_pid 2); webhooks to $VIEWER_COMPLETION_WEBHOOKS"

# --- 4. load, faults, checks, report ----------------------------------------------------------------
note_stack="commit $(stack_commit); $(nproc) CPUs; private stores: Cassandra $CASSANDRA_VERSION"
note_stack+=", Redis $REDIS_VERSION"
note_service="gunicorn $SOAK_WEB_WORKERS sync workers; 2 Celery workers (prefork, concurrency 1)"
note_service+=" + beat, broker visibility timeout $SOAK_VISIBILITY_TIMEOUT s; strict mode; auth on;"
note_service+=" Redis restart: $SOAK_REDIS_RESTART"
rc=0
timeout -k 10 $((SOAK_DURATION + SOAK_DRAIN_TIMEOUT + 900)) \
    "$PY" -m bench.soak.drive \
    --base-url "$BASE" --service-token "$SERVICE_TOKEN" \
    --duration "$SOAK_DURATION" --clients "$SOAK_CLIENTS" --think-ms "$SOAK_THINK_MS" \
    --timeout "$SOAK_TIMEOUT" --freeze "$SOAK_FREEZE" --redis-restart "$SOAK_REDIS_RESTART" \
    --drain-timeout "$SOAK_DRAIN_TIMEOUT" --visibility-timeout "$SOAK_VISIBILITY_TIMEOUT" \
    --tmp "$TMP" --redis-dir "$REDIS_STATE" --redis-sh "$REDIS_SH" \
    --cassandra-pid "$CASSANDRA_PID" --webhook-records "$TMP/webhooks.jsonl" \
    --note "$note_stack" --note "$note_service" \
    --results "$REPORT" --raw "$RAW" || rc=$?
case "$rc" in
    0) log "every check passed; report in $REPORT" ;;
    3) log "CHECKS FAILED; report in $REPORT, raw data in $RAW" ;;
    *) die "the driver failed (exit $rc)" ;;
esac
exit "$rc"
