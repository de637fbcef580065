# shellcheck shell=bash disable=SC2034,SC2153  # variables are set and read by the caller
# The Cassandra + Redis + Celery + gunicorn stack of the benchmarks that need the whole service
# (sourced by bench/aggregation/run.sh and bench/soak/run.sh; not run on its own).
#
# The caller sets, before sourcing: ROOT (the repository), STACK_TAG (log prefix), STACK_STORES
# (private|shared), STACK_KEYSPACE (a name containing "bench"), STACK_KEEP_TMP (0|1) and
# STACK_RAW (where cleanup copies the logs). Then, in order:
#
#   stack_init                          temporary directory $TMP, ports, the EXIT/INT/TERM traps
#   stack_start_stores                  Cassandra (ctl.sh) and Redis (redis.sh): private ones on
#                                       free ports that are not the defaults, or the shared ones
#   stack_configure                     exports the service's settings (Cassandra store, auth on
#                                       with a per-run secret, strict mode, no broker yet)
#   stack_prepare_schema                fresh keyspace (dropped first), sync_cassandra, migrate
#   stack_issue_token USER ROLE         prints a token (24 h)
#   stack_use_broker                    from now on CELERY_BROKER_URL is set (tasks queue)
#   stack_start_worker N [ARGS...]      Celery worker N (pid in $TMP/celery-N.pid, log
#                                       celery-N.log); the command is kept in
#                                       $TMP/start-worker.sh so a fault injector can restart it
#   stack_wait_workers COUNT
#   stack_start_gunicorn WORKERS [CONF] gunicorn on a free port: $BASE, $PIDS_WEB
#
# Every process started here is stopped at the end by its pid (cleanup), the stores only when
# this run started them. STACK_EXTRA_LOGS lists more $TMP files that cleanup copies to STACK_RAW.

PY="$ROOT/.venv/bin/python"
GUNICORN="$ROOT/.venv/bin/gunicorn"
CELERY="$ROOT/.venv/bin/celery"
CTL="$ROOT/scripts/cassandra/ctl.sh"
REDIS_SH="$ROOT/scripts/redis.sh"
PIDS_WEB=""
PIDS_OTHER=()
STORES_STARTED=()
STACK_EXTRA_LOGS=()
STACK_CLEANUP_HOOK=""

log() { printf '[%s %s] %s\n' "$STACK_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

ctl() { CASSANDRA_DIR="$CASS_DIR" "$CTL" "$@"; }
redis_ctl() { REDIS_DIR="$REDIS_STATE" "$REDIS_SH" "$@"; }
status_pid() { "$@" status 2>/dev/null | sed -n 's/.*(pid \([0-9][0-9]*\)).*/\1/p' || true; }

# shellcheck disable=SC2317  # stop_pid and stack_cleanup run from the EXIT trap
# stop_pid NAME PID SECONDS: SIGTERM, SIGKILL after SECONDS, and the same for its children.
stop_pid() {
    local name=$1 pid=$2 seconds=$3 children i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -CONT "$pid" 2>/dev/null || true
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
stack_cleanup() {
    local status=$? f pid name
    trap - EXIT INT TERM
    if [[ -n "$STACK_CLEANUP_HOOK" ]]; then "$STACK_CLEANUP_HOOK" || true; fi
    if [[ -n "$PIDS_WEB" ]]; then stop_pid gunicorn "$PIDS_WEB" 10; fi
    for f in "$TMP"/celery-*.pid; do
        [[ -s "$f" ]] || continue
        pid="$(<"$f")"
        name="$(basename "$f" .pid)"
        stop_pid "$name" "$pid" 20
    done
    for pid in "${PIDS_OTHER[@]}"; do stop_pid "process" "$pid" 10; done
    if [[ -n "${STACK_RAW:-}" ]]; then
        mkdir -p "$STACK_RAW"
        for f in gunicorn.log "$TMP"/celery-*.log prepare.log sync_cassandra.log \
            "${STACK_EXTRA_LOGS[@]}"; do
            f="$(basename "$f")"
            if [[ -f "$TMP/$f" ]]; then cp "$TMP/$f" "$STACK_RAW/$f"; fi
        done
    fi
    for ((i = ${#STORES_STARTED[@]} - 1; i >= 0; i--)); do
        case "${STORES_STARTED[i]}" in
            cassandra)
                # Never leave a frozen node behind (the soak stops it with SIGSTOP).
                if [[ -s "$CASS_DIR/pid" ]]; then kill -CONT "$(<"$CASS_DIR/pid")" 2>/dev/null || true; fi
                ctl stop || log "WARNING: ctl.sh stop failed: check $CASS_DIR"
                ;;
            redis) redis_ctl stop || log "WARNING: redis.sh stop failed: check $REDIS_STATE" ;;
        esac
    done
    if [[ "$STACK_KEEP_TMP" == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
    exit "$status"
}

stack_init() {
    [[ -x "$PY" && -x "$GUNICORN" && -x "$CELERY" ]] || die "no venv in $ROOT/.venv: run 'make install'"
    command -v curl >/dev/null || die "curl is missing"
    TMP="$(mktemp -d "/tmp/viewer-$STACK_TAG.XXXXXX")"
    case "$STACK_STORES" in
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
        *) die "the stores must be private or shared, not '$STACK_STORES'" ;;
    esac
    trap stack_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

stack_start_stores() {
    local rc
    log "stores: $STACK_STORES (Cassandra state in $CASS_DIR, Redis in $REDIS_STATE)"
    if [[ "$STACK_STORES" == private ]]; then
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
    REDIS_PORT="${REDIS_BASE##*:}"
    export REDIS_URL="$REDIS_BASE/$REDIS_DB"
    BROKER_URL="$REDIS_BASE/$BROKER_DB"
    CASSANDRA_VERSION="$(ctl status | sed -n 's/^running: Cassandra \([^ ]*\) .*/\1/p')"
    REDIS_VERSION="$(redis-server --version | sed -n 's/.* v=\([^ ]*\) .*/\1/p')"
    CASSANDRA_PID="$(status_pid ctl)"
    REDIS_PID="$(status_pid redis_ctl)"
    if [[ "$STACK_STORES" == shared ]]; then
        log "FLUSHDB of Redis db $REDIS_DB and $BROKER_DB (shared stores)"
        redis-cli -u "$REDIS_URL" flushdb >/dev/null
        redis-cli -u "$BROKER_URL" flushdb >/dev/null
    fi
}

stack_configure() {
    export DJANGO_SETTINGS_MODULE=config.settings.local
    export DATABASE_URL="sqlite:///$TMP/db.sqlite3"
    export VIEWER_STORE=cassandra CASSANDRA_KEYSPACE="$STACK_KEYSPACE"
    export VIEWER_AUTH=true DJANGO_DEBUG=false VIEWER_LOG_LEVEL=WARNING VIEWER_MODE=strict
    export VIEWER_THROTTLE_USER="" VIEWER_THROTTLE_ANON=""
    export VIEWER_COMPLETION_WEBHOOKS="${VIEWER_COMPLETION_WEBHOOKS:-[]}"
    export VIEWER_MEDIA_ROOT="$TMP/media" PYTHONDONTWRITEBYTECODE=1
    VIEWER_JWT_SECRET="$("$PY" -c 'import secrets; print(secrets.token_hex(32))')"
    export VIEWER_JWT_SECRET
    export CELERY_BROKER_URL=""   # seeding: recomputes in-process, nothing queued
    log "Cassandra $CASSANDRA_VERSION on $CASSANDRA_HOSTS:$CASSANDRA_PORT (keyspace" \
        "$STACK_KEYSPACE); Redis $REDIS_VERSION: coordination $REDIS_URL, broker $BROKER_URL;" \
        "database $DATABASE_URL"
}

stack_prepare_schema() {
    timeout 120 "$PY" -m bench.aggregation.prepare drop-keyspace >&2
    timeout 300 "$PY" manage.py sync_cassandra >"$TMP/sync_cassandra.log" 2>&1 \
        || { cat "$TMP/sync_cassandra.log" >&2; die "manage.py sync_cassandra failed"; }
    timeout 120 "$PY" manage.py migrate --noinput -v 0
}

stack_issue_token() {
    timeout 60 "$PY" manage.py issue_token --user "$1" --role "$2" --ttl 86400
}

stack_use_broker() { export CELERY_BROKER_URL="$BROKER_URL"; }

# stack_start_worker N [CELERY WORKER ARGS...]: the first call writes $TMP/start-worker.sh (the
# environment is inherited from whoever runs it: this shell, or a fault injector it started).
stack_start_worker() {
    local n=$1
    shift
    if [[ ! -f "$TMP/start-worker.sh" ]]; then
        # shellcheck disable=SC2016  # $1 and $! belong to the generated script
        {
            echo '#!/usr/bin/env bash'
            echo '# start-worker.sh N: Celery worker N in the background, its pid in celery-N.pid'
            echo 'set -eu'
            printf 'cd %q\n' "$ROOT"
            printf '%q -A config worker' "$CELERY"
            printf ' %q' "$@"
            printf ' --hostname "%s$1@%%h"' "$STACK_TAG"
            printf ' </dev/null >>%q/celery-"$1".log 2>&1 &\n' "$TMP"
            printf 'echo $! >%q/celery-"$1".pid\n' "$TMP"
            printf 'echo $!\n'
        } >"$TMP/start-worker.sh"
        chmod +x "$TMP/start-worker.sh"
    fi
    "$TMP/start-worker.sh" "$n" >/dev/null
}

stack_wait_workers() {
    timeout 90 "$PY" -m bench.aggregation.prepare wait-workers "$1" 60 >&2 \
        || { tail -n 30 "$TMP"/celery-*.log >&2; die "the Celery workers did not come up"; }
}

stack_worker_pid() { cat "$TMP/celery-$1.pid"; }

# stack_start_gunicorn WORKERS [CONFIG_MODULE]
stack_start_gunicorn() {
    local config=()
    if [[ -n "${2:-}" ]]; then config=(--config "python:$2"); fi
    PORT="$(free_port)"
    BASE="http://127.0.0.1:$PORT"
    "$GUNICORN" config.wsgi:application \
        --chdir "$ROOT" \
        --bind "127.0.0.1:$PORT" \
        "${config[@]}" \
        --workers "$1" \
        --worker-class sync \
        --timeout 30 \
        --graceful-timeout 5 \
        --error-logfile - \
        --log-level warning </dev/null >>"$TMP/gunicorn.log" 2>&1 &
    PIDS_WEB=$!
    for _ in $(seq 200); do
        kill -0 "$PIDS_WEB" 2>/dev/null || { cat "$TMP/gunicorn.log" >&2; die "gunicorn exited"; }
        if curl -fsS -o /dev/null --max-time 2 "$BASE/health" 2>/dev/null; then break; fi
        sleep 0.1
    done
    curl -fsS -o /dev/null --max-time 5 "$BASE/ready" || die "gunicorn is not ready ($BASE/ready)"
}

stack_commit() {
    local commit
    commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
        commit="$commit + uncommitted changes"
    fi
    echo "$commit"
}
