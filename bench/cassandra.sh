# shellcheck shell=bash
# Sourced by bench/run.sh when VIEWER_STORE=cassandra: Cassandra + Redis for the benchmark, and the
# raw-store load generator (bench/raw_cassandra.py) run beside wrk.
#
# BENCH_STORES=private (default): a node and a Redis of the benchmark's own, in its temporary
#   directory (CASSANDRA_DIR/REDIS_DIR of scripts/cassandra/ctl.sh and scripts/redis.sh; the jars
#   are the ones in .local/cassandra/lib, fetched there first if missing). Nobody else's node or
#   data is touched, the figures are not disturbed by other users of a shared node, and the
#   start-up can be measured on every run: "cold" = first start on an empty data directory (a new
#   node creating its system keyspaces), "warm" = a restart of that node on its data directory
#   (BENCH_CASSANDRA_RESTART=0 skips it). Both on random free ports, never 9042/6379.
# BENCH_STORES=shared: the scripts' default state directories (.local/), like scripts/test.sh: a
#   server already running is used and left running; one started here is stopped at the end.
# Either way the keyspace (BENCH_KEYSPACE, default viewer_bench) is dropped and created afresh.
# Requires from run.sh: ROOT, TMP, PY, log, die.

BENCH_STORES="${BENCH_STORES:-private}"
BENCH_KEYSPACE="${BENCH_KEYSPACE:-viewer_bench}"
BENCH_CASSANDRA_RESTART="${BENCH_CASSANDRA_RESTART:-1}"
CTL="$ROOT/scripts/cassandra/ctl.sh"
REDIS_SH="$ROOT/scripts/redis.sh"
STORES_STARTED=()  # "cassandra" / "redis": stopped by stores_stop

# A free loopback port that is not a default one: nothing configured with defaults (a test run
# with REDIS_URL/CASSANDRA_PORT unset flushes its Redis) reaches the benchmark's servers.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$BENCH_STORES" in
    private)
        BENCH_CASSANDRA_DIR="$TMP/cassandra"
        BENCH_REDIS_DIR="$TMP/redis"
        export CASSANDRA_NATIVE_PORT CASSANDRA_STORAGE_PORT REDIS_PREFERRED_PORT
        CASSANDRA_NATIVE_PORT="$(free_port)"
        CASSANDRA_STORAGE_PORT="$(free_port)"
        REDIS_PREFERRED_PORT="$(free_port)"
        ;;
    shared)
        BENCH_CASSANDRA_DIR="${CASSANDRA_DIR:-$ROOT/.local/cassandra}"
        BENCH_REDIS_DIR="${REDIS_DIR:-$ROOT/.local/redis}"
        ;;
    *) die "BENCH_STORES must be private or shared, not '$BENCH_STORES'" ;;
esac

ctl() { CASSANDRA_DIR="$BENCH_CASSANDRA_DIR" "$CTL" "$@"; }
redis_ctl() { REDIS_DIR="$BENCH_REDIS_DIR" "$REDIS_SH" "$@"; }

# The pid a script's `status` reports ("... (pid N)"), empty when not running.
status_pid() { "$@" status 2>/dev/null | sed -n 's/.*(pid \([0-9][0-9]*\)).*/\1/p' || true; }
# Cassandra's JVM and Redis, for the CPU accounting of each run: taken once by stores_start (a
# `ctl.sh status` runs a CQL probe, which must not run inside the measured windows).
STORE_PIDS=""
store_pids() { echo "$STORE_PIDS"; }

now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# cassandra_start LABEL: start the node, log it, and export BENCH_CASSANDRA_<LABEL> =
# "<s after launch (ctl.sh's readiness figure)> <s of the whole ctl.sh start>".
cassandra_start() {
    local label=$1 t0 rc=0 ready
    t0="$(now_s)"
    ctl start 2>&1 | tee "$TMP/ctl-start-$label.log" >&2 || rc=$?
    ((rc != 3)) || die "Cassandra cannot run on this machine (ctl.sh exit 3: see above)"
    ((rc == 0)) || die "scripts/cassandra/ctl.sh start failed (exit $rc)"
    ready="$(sed -n 's/.*, \([0-9.]*\) s after launch.*/\1/p' "$TMP/ctl-start-$label.log" | tail -1)"
    printf -v "BENCH_CASSANDRA_${label^^}" '%s %s' "${ready:-?}" "$(since "$t0")"
    export "BENCH_CASSANDRA_${label^^}"
}

stores_start() {
    local rc=0 t0
    log "stores: $BENCH_STORES (Cassandra state in $BENCH_CASSANDRA_DIR, Redis in $BENCH_REDIS_DIR)"
    if [[ "$BENCH_STORES" == private ]]; then
        # The jars once, in the scripts' shared place (a no-op when they are there), then linked.
        "$CTL" fetch || rc=$?
        ((rc != 3)) || die "Cassandra cannot run on this machine (ctl.sh exit 3: see above)"
        ((rc == 0)) || die "scripts/cassandra/ctl.sh fetch failed (exit $rc)"
        mkdir -p "$BENCH_CASSANDRA_DIR"
        ln -sfn "$ROOT/.local/cassandra/lib" "$BENCH_CASSANDRA_DIR/lib"
    fi

    if redis_ctl status >/dev/null 2>&1; then
        log "Redis already running: used and left running ($(redis_ctl status))"
    else
        STORES_STARTED+=(redis)
        rc=0
        redis_ctl start || rc=$?
        ((rc == 0)) || die "scripts/redis.sh start failed (exit $rc)"
    fi

    export BENCH_CASSANDRA_COLD="" BENCH_CASSANDRA_WARM="" BENCH_CASSANDRA_STOP=""
    if ctl status >/dev/null 2>&1; then
        log "Cassandra already running: used and left running ($(ctl status)); start-up not measured"
    else
        STORES_STARTED+=(cassandra)
        cassandra_start cold
        if [[ "$BENCH_CASSANDRA_RESTART" == 1 ]]; then
            t0="$(now_s)"
            ctl stop
            BENCH_CASSANDRA_STOP="$(since "$t0")"
            cassandra_start warm
        fi
    fi

    set -a
    eval "$(ctl env)"
    eval "$(redis_ctl env)"
    set +a
    export CASSANDRA_KEYSPACE="$BENCH_KEYSPACE"
    STORE_PIDS="$(status_pid ctl) $(status_pid redis_ctl)"
    BENCH_CASSANDRA_VERSION="$(ctl status | sed -n 's/^running: Cassandra \([^ ]*\) .*/\1/p')"
    BENCH_REDIS_VERSION="$(redis-server --version | sed -n 's/.* v=\([^ ]*\) .*/\1/p')"
    export BENCH_CASSANDRA_VERSION BENCH_REDIS_VERSION BENCH_STORES
    log "Cassandra $BENCH_CASSANDRA_VERSION on $CASSANDRA_HOSTS:$CASSANDRA_PORT," \
        "keyspace $CASSANDRA_KEYSPACE; Redis $BENCH_REDIS_VERSION at $REDIS_URL"
}

# The servers this script started, in reverse order; called from run.sh's cleanup.
stores_stop() {
    local i
    for ((i = ${#STORES_STARTED[@]} - 1; i >= 0; i--)); do
        case "${STORES_STARTED[i]}" in
            cassandra)
                if [[ -f "$BENCH_CASSANDRA_DIR/logs/system.log" ]]; then
                    cp "$BENCH_CASSANDRA_DIR/logs/system.log" "$RESULTS/cassandra-system.log" || true
                fi
                ctl stop || log "WARNING: ctl.sh stop failed: check $BENCH_CASSANDRA_DIR"
                ;;
            redis) redis_ctl stop || log "WARNING: redis.sh stop failed: check $BENCH_REDIS_DIR" ;;
        esac
    done
    STORES_STARTED=()
}

# A fresh keyspace with the service's tables, the relational database (InstanceConfig), seeds.
stores_prepare() {
    local t0
    timeout 120 "$PY" -m bench.seed drop-keyspace >&2
    timeout 180 "$PY" manage.py sync_cassandra >"$TMP/sync_cassandra.log" 2>&1 \
        || { cat "$TMP/sync_cassandra.log" >&2; die "manage.py sync_cassandra failed"; }
    timeout 120 "$PY" manage.py migrate --noinput -v 0
    t0="$(now_s)"
    timeout 600 "$PY" -m bench.seed seed "$BENCH_USERS" "$BENCH_CONTENTS" >&2
    export BENCH_SEED_SECONDS
    BENCH_SEED_SECONDS="$(since "$t0")"
}

# run_raw NAME SECONDS: one run of the raw store at wrk's concurrency, its output on stdout.
run_raw() {
    timeout -k 5 $(($2 + 60)) "$PY" -m bench.raw_cassandra "$1" "$2" "$BENCH_CONNECTIONS" \
        "$BENCH_USERS" "$BENCH_CONTENTS" 2>&1
}
