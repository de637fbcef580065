#!/usr/bin/env bash
# Migration benchmark: generate legacy data sets (cqlsh CSV exports) of growing size, migrate
# each into a fresh SQLite store in its own process, print rows/s and peak memory (ru_maxrss).
# Memory must stay flat as the data grows (streamed, batched).
#
#   bench/migration/run.sh                 # 10,000 and 100,000 enrolments
#   SIZES="1000 10000" bench/migration/run.sh
#   BATCH_SIZE=1000 bench/migration/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
SIZES=${SIZES:-"10000 100000"}
BATCH_SIZE=${BATCH_SIZE:-500}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/viewer-migration-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

uptime
printf '%-11s %-9s %-8s %-8s %-13s %-8s %-14s %-9s %-s\n' enrolments rows seconds rows/s enrolments/s cpu_s rows/cpu_s peak_MiB csv_MiB
for size in $SIZES; do
  "$PYTHON" -m bench.migration.generate "$WORK/$size" "$size" 2>/dev/null
  csv_mib=$(du -sm "$WORK/$size" | cut -f1)
  result=$(DATABASE_URL="sqlite:///$WORK/$size.sqlite3" VIEWER_STORE=sql \
    DJANGO_SETTINGS_MODULE=config.settings.local \
    "$PYTHON" -m bench.migration.migrate "$WORK/$size" --batch-size "$BATCH_SIZE" \
    ${NO_PROGRESS:+--no-progress} 2>"$WORK/$size.log" | tail -1)
  "$PYTHON" - "$result" "$size" "$csv_mib" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["rejected"] == 0, r
print(f"{sys.argv[2]:<11} {r['rows']:<9} {r['seconds']:<8} {r['rows_per_s']:<8} "
      f"{r['enrolments_per_s']:<13} {r['cpu_seconds']:<8} {r['rows_per_cpu_s']:<14} "
      f"{r['peak_rss_mib']:<9} {sys.argv[3]}")
PY
done
