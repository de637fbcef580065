"""Migrate a generated data set into a fresh store and print the figures as one JSON line.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python -m bench.migration.migrate DIR [--batch-size N]

Puts DIR/catalogue.json into the catalogue, runs the migration (in this process, with the
progress bar on stderr) and reports rows read, rows/s and this process's peak memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) before and after the migration.
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    from django.core.management import call_command

    from migration.runner import Migration
    from migration.sources import CsvSource
    from viewer.services import collection_put

    call_command("migrate", verbosity=0)
    for identifier, children in json.loads((args.directory / "catalogue.json").read_text()).items():
        collection_put(identifier=identifier, data={"name": identifier, "children": children})
    usage = resource.getrusage(resource.RUSAGE_SELF)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.monotonic()
    report = Migration(
        CsvSource(args.directory),
        batch_size=args.batch_size,
        progress=None if args.no_progress else sys.stderr,
    ).run()
    seconds = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
    tables = report.tables
    print(
        json.dumps(
            {
                "rows": report.rows_this_run,
                "enrolments": tables["user_enrolments"].read,
                "written": {name: r.written for name, r in tables.items()},
                "rejected": sum(sum(r.rejected.values()) for r in tables.values()),
                "recomputed": tables["user_enrolments"].recomputed,
                "seconds": round(seconds, 1),
                "rows_per_s": round(report.rows_this_run / seconds),
                "cpu_seconds": round(cpu, 1),
                "rows_per_cpu_s": round(report.rows_this_run / cpu),
                "enrolments_per_s": round(tables["user_enrolments"].read / seconds),
                "peak_rss_mib_before": round(before / 1024, 1),
                "peak_rss_mib": round(peak / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
