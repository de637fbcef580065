#!/usr/bin/env bash
# The suite on real services: starts Redis and Cassandra when they are not running (and stops
# what it started), then runs pytest twice - on the SQL store (the contract tests also run on
# Cassandra + Redis there) and with VIEWER_STORE=cassandra (every API test on Cassandra + Redis).
# Outside CI a missing prerequisite (no Java/Maven, no redis-server) skips that half loudly;
# under CI=true it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTEST=.venv/bin/pytest
CI=${CI:-}
started=()

cleanup() {
  local script
  for script in "${started[@]}"; do "$script" stop || true; done
}
trap cleanup EXIT

# up NAME SCRIPT: 0 when the service answers (started here or already running), 1 when it cannot
# run on this machine outside CI; exits under CI.
up() {
  local name=$1 script=$2 rc=0
  if "$script" status >/dev/null 2>&1; then
    echo "== $name: already running, left as it is"
    return 0
  fi
  echo "== $name: starting"
  "$script" start || rc=$?
  if [ "$rc" -eq 0 ]; then
    started+=("$script")
    return 0
  fi
  if [ "$rc" -eq 3 ] && [ "$CI" != "true" ]; then
    echo "!! ============================================================================="
    echo "!! $name cannot run on this machine: the tests that need it are SKIPPED."
    echo "!! Under CI=true this is a failure."
    echo "!! ============================================================================="
    return 1
  fi
  echo "!! $name failed to start (exit $rc)" >&2
  exit 1
}

have_redis=0
have_cassandra=0
if up Redis scripts/redis.sh; then
  have_redis=1
  eval "$(scripts/redis.sh env)"
  export REDIS_URL
fi
if up Cassandra scripts/cassandra/ctl.sh; then
  have_cassandra=1
  eval "$(scripts/cassandra/ctl.sh env)"
  export CASSANDRA_HOSTS CASSANDRA_PORT
fi

echo "== pytest: VIEWER_STORE=sql (contract tests on every backend)"
VIEWER_STORE=sql "$PYTEST" "$@"

if [ "$have_cassandra" -eq 1 ] && [ "$have_redis" -eq 1 ]; then
  echo "== pytest: VIEWER_STORE=cassandra (Cassandra + Redis)"
  VIEWER_STORE=cassandra "$PYTEST" "$@"
else
  echo "!! pytest on VIEWER_STORE=cassandra SKIPPED: Cassandra and Redis are not both available."
fi
