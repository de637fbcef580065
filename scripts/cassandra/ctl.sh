#!/usr/bin/env bash
# Local single-node Apache Cassandra 5.0 (jars from Maven Central) for development and CI.
#
#   scripts/cassandra/ctl.sh start    fetch jars (once), start on 127.0.0.1, wait until CQL answers
#   scripts/cassandra/ctl.sh stop     SIGTERM (drain), SIGKILL after CASSANDRA_STOP_TIMEOUT
#   scripts/cassandra/ctl.sh status   exit 0 when running and answering CQL, 1 otherwise
#   scripts/cassandra/ctl.sh env      prints CASSANDRA_HOSTS=... / CASSANDRA_PORT=... lines;
#                                     use: set -a; eval "$(scripts/cassandra/ctl.sh env)"; set +a
#   scripts/cassandra/ctl.sh fetch    only download the jars (e.g. to warm a CI cache)
#   scripts/cassandra/ctl.sh reset    stop, then delete data and logs (jars are kept)
#
# Everything lives in .local/cassandra/ (git-ignored): lib/ (jars), conf/, data/, logs/,
# pid, port. Needs OpenJDK 17, Maven (only while lib/ is empty) and Python 3 for the
# readiness probe. Exit code 3 = java/mvn missing or Maven Central unreachable.
#
# Environment (all optional):
#   PYTHON                   interpreter with the `cassandra` driver for the readiness query
#                            (default: .venv/bin/python, then python3; without the driver a
#                            stdlib CQL round trip is used)
#   CASSANDRA_PROBE          auto (default) | cql (stdlib round trip) | log (log line + TCP)
#   CASSANDRA_NATIVE_PORT    preferred CQL port (9042); another free one is used if taken
#   CASSANDRA_STORAGE_PORT   preferred storage port (7000); idem
#   CASSANDRA_HEAP           heap size, -Xms = -Xmx (512m)
#   CASSANDRA_START_TIMEOUT  seconds to wait for CQL (180)
#   CASSANDRA_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL (60)
#   CASSANDRA_FRESH=1        wipe data/ before starting
#   CASSANDRA_JAVA           java binary to use (must be 17)
#   CASSANDRA_DIR            state directory (.local/cassandra)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
CASS_DIR=${CASSANDRA_DIR:-$ROOT/.local/cassandra}
mkdir -p "$CASS_DIR"
CASS_DIR=$(cd "$CASS_DIR" && pwd)
LIB_DIR=$CASS_DIR/lib
CONF_DIR=$CASS_DIR/conf
LOG_DIR=$CASS_DIR/logs
PID_FILE=$CASS_DIR/pid
PORT_FILE=$CASS_DIR/port
START_TIMEOUT=${CASSANDRA_START_TIMEOUT:-180}
STOP_TIMEOUT=${CASSANDRA_STOP_TIMEOUT:-60}
HEAP=${CASSANDRA_HEAP:-512m}
PREF_NATIVE_PORT=${CASSANDRA_NATIVE_PORT:-9042}
PREF_STORAGE_PORT=${CASSANDRA_STORAGE_PORT:-7000}
PROBE=$SCRIPT_DIR/probe.py

log() { printf '[cassandra] %s\n' "$*" >&2; }

# Prerequisite missing: loud message, exit 3 so callers can decide to skip or fail.
die_prereq() {
  {
    echo "=========================================================================="
    echo " CASSANDRA NOT AVAILABLE: $*"
    echo " Needs OpenJDK 17 (apt-get install openjdk-17-jre-headless), Maven"
    echo " (apt-get install maven) and access to Maven Central (repo.maven.apache.org)."
    echo "=========================================================================="
  } >&2
  exit 3
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- processes -------------------------------------------------------------------------
# Alive and not a zombie (an orphaned JVM may stay a zombie if PID 1 does not reap).
alive() {
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)
  [[ $state != Z ]]
}

# The pid is our Cassandra (guards against a recycled pid).
is_ours() {
  local pid=$1 cmd
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  [[ $cmd == *org.apache.cassandra.service.CassandraDaemon* && $cmd == *"$CASS_DIR"* ]]
}

running_pid() {
  local pid
  [[ -s $PID_FILE ]] || return 1
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" && is_ours "$pid" || return 1
  echo "$pid"
}

# --- python / ports / probes -------------------------------------------------------------
PY=""
PY_DRIVER=""
find_python() {
  local c
  for c in "${PYTHON:-}" "$ROOT/.venv/bin/python" "$(command -v python3 || true)"; do
    [[ -n $c && -x $c ]] || continue
    [[ -z $PY ]] && PY=$c
    [[ ${CASSANDRA_PROBE:-auto} == cql ]] && break
    if [[ -z $PY_DRIVER ]] && "$c" -c 'import cassandra.cluster' >/dev/null 2>&1; then
      PY_DRIVER=$c
      break
    fi
  done
  if [[ ${CASSANDRA_PROBE:-auto} == log ]]; then
    PY_DRIVER=""
    PY=""
  elif [[ ${CASSANDRA_PROBE:-auto} == auto && -n ${PYTHON:-} && $PY_DRIVER != "$PYTHON" ]]; then
    log "note: PYTHON=$PYTHON cannot import the cassandra driver"
  fi
  return 0
}

# shellcheck disable=SC2016  # $1 is expanded by the inner bash
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

# 0 if 127.0.0.1:$1 can be bound (same check the server does, with SO_REUSEADDR).
port_free() {
  if [[ -n $PY ]]; then
    "$PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
  elif tcp_open "$1"; then
    return 1
  fi
}

# pick_port PREFERRED [EXCLUDED...]
pick_port() {
  local pref=$1 p i
  shift
  p=$pref
  for ((i = 0; i < 200; i++)); do
    if [[ " $* " != *" $p "* ]] && port_free "$p"; then
      echo "$p"
      return 0
    fi
    p=$((20000 + RANDOM % 30000))
  done
  log "no free loopback port found"
  return 1
}

# One CQL query; prints the release version.
cql_probe() {
  local port=$1
  if [[ -n $PY_DRIVER ]]; then
    "$PY_DRIVER" "$PROBE" "$port" driver 2>/dev/null
  elif [[ -n $PY ]]; then
    "$PY" "$PROBE" "$port" cql 2>/dev/null
  else
    grep -q 'Startup complete' "$LOG_DIR/system.log" 2>/dev/null && tcp_open "$port" && echo "(version not queried)"
  fi
}

probe_name() {
  if [[ -n $PY_DRIVER ]]; then echo "CQL query via driver ($PY_DRIVER)"
  elif [[ -n $PY ]]; then echo "CQL v4 round trip ($PY, stdlib)"
  else echo "log 'Startup complete' + TCP connect (no python found)"
  fi
}

log_tail() {
  local f
  for f in "$LOG_DIR/system.log" "$LOG_DIR/stdout.log"; do
    [[ -s $f ]] || continue
    echo "----- last lines of $f -----" >&2
    tail -n 40 "$f" >&2
  done
}

# wait_ready PID PORT T0 -> prints version on success
wait_ready() {
  local pid=$1 port=$2 t0=$3 deadline=$((SECONDS + START_TIMEOUT)) version
  while ((SECONDS < deadline)); do
    if ! alive "$pid"; then
      log "ERROR: the JVM (pid $pid) exited during startup"
      log_tail
      return 1
    fi
    if tcp_open "$port" && version=$(cql_probe "$port"); then
      log "ready: Cassandra $version on 127.0.0.1:$port (pid $pid), $(elapsed "$t0") s after launch"
      return 0
    fi
    sleep 0.5
  done
  log "ERROR: no CQL answer on 127.0.0.1:$port within ${START_TIMEOUT}s"
  log_tail
  return 1
}

# --- java / jars -------------------------------------------------------------------------
JAVA=""
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 |
    awk -F' = ' '/java.specification.version/ { print $2; exit }'
}

find_java() {
  local c v
  local -a cands=()
  if [[ -n ${CASSANDRA_JAVA:-} ]]; then
    cands=("$CASSANDRA_JAVA")
  else
    [[ -n ${JAVA_HOME:-} ]] && cands+=("$JAVA_HOME/bin/java")
    shopt -s nullglob
    cands+=(/usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/*-17*/bin/java)
    shopt -u nullglob
    cands+=("$(command -v java || true)")
  fi
  for c in "${cands[@]}"; do
    [[ -n $c && -x $c ]] || continue
    v=$(java_major "$c" || true)
    if [[ $v == 17 ]]; then
      JAVA=$c
      return 0
    fi
    log "skipping $c (Java ${v:-?}; Cassandra 5.0 here needs 17)"
  done
  die_prereq "no Java 17 found (java on PATH, JAVA_HOME, /usr/lib/jvm, CASSANDRA_JAVA)"
}

jars_ok() {
  [[ -f $LIB_DIR/.complete && $(<"$LIB_DIR/.complete") == "$(pom_hash)" ]]
}
pom_hash() { sha256sum "$SCRIPT_DIR/pom.xml" | cut -d' ' -f1; }

fetch_jars() {
  if jars_ok; then return 0; fi
  command -v mvn >/dev/null 2>&1 || die_prereq "mvn (Maven) not found; needed to download the jars"
  local build=$CASS_DIR/build tmp=$LIB_DIR.tmp t0 n size java_home
  t0=$(now)
  rm -rf "$build" "$tmp"
  mkdir -p "$build" "$LOG_DIR"
  cp "$SCRIPT_DIR/pom.xml" "$build/pom.xml"
  java_home=$(dirname "$(dirname "$(readlink -f "$JAVA")")")
  log "downloading Cassandra jars with Maven (log: $LOG_DIR/mvn.log) ..."
  if ! JAVA_HOME=$java_home mvn -B -q -f "$build/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" </dev/null >"$LOG_DIR/mvn.log" 2>&1; then
    tail -n 30 "$LOG_DIR/mvn.log" >&2
    if grep -qiE 'unknown ?host|UnknownHostException|Network is unreachable' "$LOG_DIR/mvn.log"; then
      die_prereq "Maven Central is not reachable (see $LOG_DIR/mvn.log)"
    fi
    log "ERROR: Maven failed (see $LOG_DIR/mvn.log)"
    exit 1
  fi
  if ! compgen -G "$tmp/cassandra-all-*.jar" >/dev/null; then
    log "ERROR: Maven finished but no cassandra-all jar in $tmp"
    exit 1
  fi
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  pom_hash >"$LIB_DIR/.complete"
  n=$(find "$LIB_DIR" -name '*.jar' | wc -l)
  size=$(du -sh "$LIB_DIR" | cut -f1)
  log "fetched $n jars ($size) in $(elapsed "$t0") s"
}

render_conf() {
  local native=$1 storage=$2 esc
  mkdir -p "$CONF_DIR"
  esc=$(printf '%s' "$CASS_DIR" | sed 's/[\\|&]/\\&/g')
  sed -e "s|@CASS_DIR@|$esc|g" -e "s|@NATIVE_PORT@|$native|g" -e "s|@STORAGE_PORT@|$storage|g" \
    "$SCRIPT_DIR/cassandra.yaml.in" >"$CONF_DIR/cassandra.yaml"
}

# --- lock: one ctl.sh at a time per state directory ------------------------------------------
take_lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CASS_DIR/.lock"
    flock -w 900 9 || { log "ERROR: another ctl.sh holds $CASS_DIR/.lock"; exit 1; }
  fi
}

# --- subcommands -------------------------------------------------------------------------
cmd_start() {
  local pid port storage t0 jamm version f
  local -a args
  take_lock
  find_python
  if [[ -s $PID_FILE ]]; then
    if pid=$(running_pid); then
      port=$(<"$PORT_FILE")
      if version=$(cql_probe "$port"); then
        log "already running: Cassandra $version on 127.0.0.1:$port (pid $pid)"
        return 0
      fi
      log "pid $pid is running but not answering yet; waiting (probe: $(probe_name))"
      if wait_ready "$pid" "$port" "$(now)"; then return 0; fi
      stop_pid "$pid"
      exit 1
    fi
    log "removing stale pid file"
    rm -f "$PID_FILE" "$PORT_FILE"
  fi

  find_java
  fetch_jars

  if [[ ${CASSANDRA_FRESH:-0} == 1 ]]; then
    log "CASSANDRA_FRESH=1: wiping $CASS_DIR/data"
    rm -rf "$CASS_DIR/data"
  fi
  mkdir -p "$CASS_DIR"/{data,logs,tmp,triggers}
  for f in system.log stdout.log; do
    if [[ -f $LOG_DIR/$f ]]; then mv -f "$LOG_DIR/$f" "$LOG_DIR/$f.1"; fi
  done

  port=$(pick_port "$PREF_NATIVE_PORT")
  storage=$(pick_port "$PREF_STORAGE_PORT" "$port")
  render_conf "$port" "$storage"
  jamm=$(compgen -G "$LIB_DIR/jamm-*.jar" | head -n 1 || true)

  args=(
    "@$SCRIPT_DIR/jvm17.args"
    "-Xms$HEAP" "-Xmx$HEAP"
    ${jamm:+"-javaagent:$jamm"}
    "-Dcassandra.config=file://$CONF_DIR/cassandra.yaml"
    "-Dcassandra.storagedir=$CASS_DIR/data"
    "-Dcassandra.logdir=$LOG_DIR"
    "-Dlogback.configurationFile=$SCRIPT_DIR/logback.xml"
    -Dcassandra-foreground=yes
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    -Dcassandra.load_ring_state=false
    -Dcassandra.unsafesystem=true
    -Dcassandra.available_processors=2
    "-Dcassandra.triggers_dir=$CASS_DIR/triggers"
    -Dcassandra.libjemalloc=-
    "-Djna.tmpdir=$CASS_DIR/tmp"
    "-Djava.io.tmpdir=$CASS_DIR/tmp"
    -cp "$CONF_DIR:$LIB_DIR/*"
    org.apache.cassandra.service.CassandraDaemon
  )
  echo "$port" >"$PORT_FILE"
  rm -f "$PID_FILE"
  t0=$(now)
  # New session (survives the caller's Ctrl-C / process group kill); no stdin; the lock fd
  # is closed so the JVM does not hold it. bash writes its own pid, then execs java.
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" "$JAVA" "${args[@]}" \
    </dev/null >"$LOG_DIR/stdout.log" 2>&1 9>&- &
  for _ in {1..50}; do [[ -s $PID_FILE ]] && break; sleep 0.1; done
  pid=$(<"$PID_FILE")
  log "launched pid $pid (java $(java_major "$JAVA"), heap $HEAP, CQL 127.0.0.1:$port," \
    "storage $storage); waiting up to ${START_TIMEOUT}s, probe: $(probe_name)"
  if ! wait_ready "$pid" "$port" "$t0"; then
    stop_pid "$pid"
    exit 1
  fi
}

stop_pid() {
  local pid=$1 t0 deadline
  t0=$(now)
  if alive "$pid"; then
    log "stopping pid $pid (SIGTERM, drain) ..."
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.5; done
    if alive "$pid"; then
      log "still alive after ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 10))
      while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    fi
    if alive "$pid"; then
      log "ERROR: pid $pid did not exit"
      return 1
    fi
    log "stopped in $(elapsed "$t0") s"
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
}

cmd_stop() {
  local pid
  take_lock
  if pid=$(running_pid); then
    stop_pid "$pid"
  else
    if [[ -e $PID_FILE ]]; then log "not running (stale pid file removed)"; else log "not running"; fi
    rm -f "$PID_FILE" "$PORT_FILE"
  fi
}

cmd_status() {
  local pid port version
  find_python
  if ! pid=$(running_pid); then
    echo "stopped"
    return 1
  fi
  port=$(<"$PORT_FILE")
  if version=$(cql_probe "$port"); then
    echo "running: Cassandra $version on 127.0.0.1:$port (pid $pid)"
    return 0
  fi
  echo "starting or unhealthy: pid $pid, 127.0.0.1:$port not answering CQL"
  return 1
}

cmd_env() {
  if ! running_pid >/dev/null; then
    log "not running (start it with scripts/cassandra/ctl.sh start)"
    return 1
  fi
  echo "CASSANDRA_HOSTS=127.0.0.1"
  echo "CASSANDRA_PORT=$(<"$PORT_FILE")"
}

cmd_fetch() {
  take_lock
  find_java
  fetch_jars
  log "jars in $LIB_DIR"
}

cmd_reset() {
  cmd_stop
  rm -rf "$CASS_DIR/data" "$LOG_DIR" "$CASS_DIR/tmp" "$CONF_DIR"
  log "data and logs removed"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  fetch) cmd_fetch ;;
  reset) cmd_reset ;;
  *)
    echo "usage: $0 start|stop|status|env|fetch|reset" >&2
    exit 2
    ;;
esac
