"""One-time migration from Sunbird's ``sunbird_courses`` (the seed's "One time Data migration").

    manage.py migrate_legacy --source-keyspace sunbird_courses [--source-hosts H1,H2]
    manage.py migrate_legacy --csv-dir exports/        # <table>.csv from cqlsh COPY TO
    options: --dry-run  --batch-size N  --restart  --tables t1,t2  --rejects FILE  --json
             --no-progress

Reads user_content_consumption, assessment_aggregator, user_activity_agg (legacy best scores)
and user_enrolments, in that order, and writes this service's rows, attempts and enrolments for
whichever store VIEWER_STORE selects, then recomputes each enrolment's summary. Idempotent and
resumable (checkpoints in the relational database). The collections must be in the catalogue
first (PUT /v1/collection/{id}); enrolments of other collections are migrated but not
aggregated, and listed in the report.
"""

import json
import sys
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from migration.legacy import BY_NAME, TABLES
from migration.runner import Migration, MigrationError
from migration.sources import CassandraSource, CsvSource, Source, SourceError
from viewer.errors import StoreUnavailableError


class Command(BaseCommand):
    help = "Migrate Sunbird's sunbird_courses progress, scores and enrolments (Cassandra or CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--source-keyspace", help="the legacy keyspace, e.g. sunbird_courses")
        where.add_argument("--csv-dir", help="a folder of <table>.csv files from cqlsh COPY TO")
        parser.add_argument(
            "--source-hosts",
            help="contact points of the legacy cluster (comma-separated; default: "
            "CASSANDRA_HOSTS, else 127.0.0.1)",
        )
        parser.add_argument("--source-port", type=int, help="default: CASSANDRA_PORT, else 9042")
        parser.add_argument("--batch-size", type=int, default=500, help="rows per batch (500)")
        parser.add_argument("--dry-run", action="store_true", help="read and check; write nothing")
        parser.add_argument(
            "--restart", action="store_true", help="forget this source's checkpoints first"
        )
        parser.add_argument(
            "--tables",
            help="only these legacy tables (comma-separated), in migration order: "
            + ", ".join(t.name for t in TABLES),
        )
        parser.add_argument("--rejects", help="write every rejected row here (JSON Lines)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def _source(self, options: dict[str, Any]) -> Source:
        if options["csv_dir"]:
            return CsvSource(Path(options["csv_dir"]))
        database = settings.DATABASES.get("cassandra", {})
        connection = database.get("OPTIONS", {}).get("connection", {})
        hosts = (
            options["source_hosts"].split(",")
            if options["source_hosts"]
            else settings.CASSANDRA_HOSTS or ["127.0.0.1"]
        )
        return CassandraSource(
            keyspace=options["source_keyspace"],
            hosts=[h.strip() for h in hosts if h.strip()],
            port=options["source_port"] or connection.get("port", 9042),
            username=database.get("USER", ""),
            password=database.get("PASSWORD", ""),
            consistency=settings.CASSANDRA_READ_CONSISTENCY,
        )

    def _stderr_stream(self) -> IO[str]:
        """The stream under ``self.stderr`` (its wrapper ends every write with a newline,
        which a progress bar redrawing its line with ``\r`` cannot have)."""
        return getattr(self.stderr, "_out", sys.stderr)

    def handle(self, *args: Any, **options: Any) -> None:
        tables = TABLES
        if options["tables"]:
            names = [n.strip() for n in options["tables"].split(",") if n.strip()]
            unknown = [n for n in names if n not in BY_NAME]
            if unknown:
                raise CommandError(f"--tables: unknown table {', '.join(unknown)}")
            tables = tuple(t for t in TABLES if t.name in names)
        rejects: IO[str] | None = None
        try:
            source = self._source(options)
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        try:
            if options["rejects"]:
                rejects = Path(options["rejects"]).open("a", encoding="utf-8")  # noqa: SIM115
            migration = Migration(
                source,
                batch_size=options["batch_size"],
                dry_run=options["dry_run"],
                restart=options["restart"],
                tables=tables,
                progress=None if options["no_progress"] else self._stderr_stream(),
                rejects=rejects,
                log=lambda line: self.stderr.write(line),
            )
            report = migration.run()
        except (MigrationError, SourceError) as exc:
            raise CommandError(str(exc)) from exc
        except StoreUnavailableError as exc:
            raise CommandError(
                f"the store is unavailable ({exc}); run again to resume from the checkpoint"
            ) from exc
        finally:
            source.close()
            if rejects is not None:
                rejects.close()
        if options["json"]:
            self.stdout.write(json.dumps(report.to_json(), indent=2))
        else:
            for line in report.lines():
                self.stdout.write(line)
