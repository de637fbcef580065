#!/usr/bin/env bash
# The load benchmark on Cassandra + Redis: bench/run.sh with VIEWER_STORE=cassandra (see there
# and bench/cassandra.sh). The table goes to bench/results/latest-cassandra.txt.
set -euo pipefail
VIEWER_STORE=cassandra exec "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
