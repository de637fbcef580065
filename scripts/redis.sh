#!/usr/bin/env bash
# Private local Redis for development and CI (Debian's redis-server), on 127.0.0.1 only.
#
#   scripts/redis.sh start    install redis-server if missing (root only), start, wait for PONG
#   scripts/redis.sh stop     SIGTERM, SIGKILL after REDIS_STOP_TIMEOUT
#   scripts/redis.sh status   exit 0 when running and answering PING, 1 otherwise
#   scripts/redis.sh env      prints REDIS_URL=redis://127.0.0.1:<port>/0
#                             use: export "$(scripts/redis.sh env)"  (or set -a; eval ...)
#
# State lives in .local/redis/ (git-ignored): redis.conf, pid, port, redis.log. No
# persistence (save "", appendonly no). A system redis service is never touched: this
# instance has its own port (6379 only if free), config, pid file and directory, and the
# package install does not start the system service. Exit code 3 = redis-server missing
# and cannot be installed.
#
# Environment (all optional):
#   REDIS_PREFERRED_PORT  port to use if free (6379); otherwise another free port
#   REDIS_START_TIMEOUT   seconds to wait for PONG (30)
#   REDIS_STOP_TIMEOUT    seconds between SIGTERM and SIGKILL (10)
#   REDIS_DIR             state directory (.local/redis)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
REDIS_DIR=${REDIS_DIR:-$ROOT/.local/redis}
mkdir -p "$REDIS_DIR"
REDIS_DIR=$(cd "$REDIS_DIR" && pwd)
PID_FILE=$REDIS_DIR/pid
PORT_FILE=$REDIS_DIR/port
CONF=$REDIS_DIR/redis.conf
LOG_FILE=$REDIS_DIR/redis.log
PREF_PORT=${REDIS_PREFERRED_PORT:-6379}
START_TIMEOUT=${REDIS_START_TIMEOUT:-30}
STOP_TIMEOUT=${REDIS_STOP_TIMEOUT:-10}

log() { printf '[redis] %s\n' "$*" >&2; }

die_prereq() {
  {
    echo "=========================================================================="
    echo " REDIS NOT AVAILABLE: $*"
    echo " Install Debian's package: apt-get install redis-server"
    echo "=========================================================================="
  } >&2
  exit 3
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# --- processes -------------------------------------------------------------------------
alive() {
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)
  [[ $state != Z ]]
}

# Our instance: a redis-server whose title names our port and whose working directory is
# ours (redis chdirs to `dir`), so a system redis is never mistaken for it.
is_ours() {
  local pid=$1 port=$2 cmd cwd
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  [[ $cmd == *redis-server* && $cmd == *":$port"* && $cwd == "$REDIS_DIR" ]]
}

running_pid() {
  local pid port
  [[ -s $PID_FILE && -s $PORT_FILE ]] || return 1
  pid=$(<"$PID_FILE")
  port=$(<"$PORT_FILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" && is_ours "$pid" "$port" || return 1
  echo "$pid"
}

ping() { [[ $(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }

# --- ports -------------------------------------------------------------------------------
# shellcheck disable=SC2016  # $1 is expanded by the inner bash
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

port_free() {
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" <<'EOF'
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

pick_port() {
  local p=$1 i
  for ((i = 0; i < 200; i++)); do
    if port_free "$p"; then
      echo "$p"
      return 0
    fi
    p=$((20000 + RANDOM % 30000))
  done
  log "no free loopback port found"
  return 1
}

# --- install -----------------------------------------------------------------------------
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_CREATED=0
cleanup_policy() {
  if [[ $POLICY_CREATED == 1 ]]; then
    rm -f "$POLICY_RC"
    POLICY_CREATED=0
  fi
}

ensure_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  [[ $(id -u) == 0 ]] || die_prereq "redis-server is not installed (and we are not root)"
  command -v apt-get >/dev/null 2>&1 || die_prereq "redis-server is not installed and apt-get is missing"
  # Keep the package's postinst from starting the system redis service (Debian's
  # policy-rc.d mechanism); only if no policy is in place already, removed afterwards.
  if [[ ! -e $POLICY_RC ]]; then
    printf '#!/bin/sh\n# temporary, from scripts/redis.sh\nexit 101\n' >"$POLICY_RC"
    chmod 755 "$POLICY_RC"
    POLICY_CREATED=1
    trap cleanup_policy EXIT
  fi
  local t0 rc=0
  t0=$(now)
  log "redis-server missing: apt-get install redis-server (log: $REDIS_DIR/apt.log) ..."
  {
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold redis-server
  } </dev/null >"$REDIS_DIR/apt.log" 2>&1 || rc=$?
  cleanup_policy
  if ((rc != 0)) || ! command -v redis-server >/dev/null 2>&1; then
    tail -n 20 "$REDIS_DIR/apt.log" >&2
    die_prereq "apt-get install redis-server failed (exit $rc)"
  fi
  log "installed $(redis-server --version | awk '{ sub("v=", "", $3); print "Redis " $3 }') in $(elapsed "$t0") s"
}

take_lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$REDIS_DIR/.lock"
    flock -w 600 9 || { log "ERROR: another redis.sh holds $REDIS_DIR/.lock"; exit 1; }
  fi
}

# --- subcommands -------------------------------------------------------------------------
cmd_start() {
  local pid port t0 deadline dir_q
  take_lock
  if pid=$(running_pid); then
    port=$(<"$PORT_FILE")
    if ping "$port"; then
      log "already running on 127.0.0.1:$port (pid $pid)"
      return 0
    fi
  elif [[ -e $PID_FILE || -e $PORT_FILE ]]; then
    log "removing stale pid/port files"
    rm -f "$PID_FILE" "$PORT_FILE"
  fi

  ensure_redis
  if [[ -z ${pid:-} ]]; then
    port=$(pick_port "$PREF_PORT")
    dir_q=${REDIS_DIR//\\/\\\\}
    dir_q=${dir_q//\"/\\\"}
    cat >"$CONF" <<EOF
# generated by scripts/redis.sh; private dev/CI instance, no persistence
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
supervised no
pidfile "$dir_q/pid"
dir "$dir_q"
logfile "$dir_q/redis.log"
loglevel notice
save ""
appendonly no
databases 16
EOF
    if [[ -f $LOG_FILE ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
    echo "$port" >"$PORT_FILE"
    t0=$(now)
    if ! redis-server "$CONF" </dev/null >/dev/null 2>&1 9>&-; then
      log "ERROR: redis-server refused to start"
      [[ -s $LOG_FILE ]] && tail -n 20 "$LOG_FILE" >&2
      rm -f "$PORT_FILE"
      exit 1
    fi
  else
    t0=$(now)
    log "pid $pid is running but not answering PING yet; waiting"
  fi

  deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ping "$port"; then
      pid=$(<"$PID_FILE")
      log "ready: $(redis-server --version | awk '{ sub("v=", "", $3); print "Redis " $3 }') on 127.0.0.1:$port" \
        "(pid $pid), $(elapsed "$t0") s"
      return 0
    fi
    if [[ -s $PID_FILE ]] && ! alive "$(<"$PID_FILE")"; then
      break
    fi
    if grep -qiE 'Could not create server TCP|Failed listening|Fatal|Bad directive' \
      "$LOG_FILE" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  log "ERROR: no PONG from 127.0.0.1:$port"
  [[ -s $LOG_FILE ]] && tail -n 20 "$LOG_FILE" >&2
  if pid=$(running_pid); then stop_pid "$pid"; fi
  rm -f "$PID_FILE" "$PORT_FILE"
  exit 1
}

stop_pid() {
  local pid=$1 deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  if alive "$pid"; then
    log "still alive after ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
  fi
  if alive "$pid"; then
    log "ERROR: pid $pid did not exit"
    return 1
  fi
}

cmd_stop() {
  local pid
  take_lock
  if pid=$(running_pid); then
    stop_pid "$pid"
    log "stopped (pid $pid)"
  else
    log "not running"
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
}

cmd_status() {
  local pid port
  if ! pid=$(running_pid); then
    echo "stopped"
    return 1
  fi
  port=$(<"$PORT_FILE")
  if ping "$port"; then
    echo "running on 127.0.0.1:$port (pid $pid)"
    return 0
  fi
  echo "unhealthy: pid $pid, 127.0.0.1:$port not answering PING"
  return 1
}

cmd_env() {
  if ! running_pid >/dev/null; then
    log "not running (start it with scripts/redis.sh start)"
    return 1
  fi
  echo "REDIS_URL=redis://127.0.0.1:$(<"$PORT_FILE")/0"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
