"""Archive the consumption rows and attempts of enrolments completed long ago.

    manage.py archive_consumption --older-than 365                 # into MEDIA_ROOT/archive
    manage.py archive_consumption --older-than 365 --out /backups  # elsewhere
    manage.py archive_consumption --older-than 365 --dry-run       # count only

Exports them to one gzip JSON Lines file per run, then deletes them from the store; summaries,
best scores, view and assessment reads keep their answers (see ``summaries.archive``). Safe to
interrupt and to run again. Run one at a time.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from summaries.archive import ArchiveReport, archive_run, default_directory
from summaries.repositories import enrolment_repository


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _days(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Export the consumption rows and attempts of enrolments completed more than DAYS ago "
        "to gzip JSON Lines, then delete them from the store (reads keep their answers)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=_days,
            required=True,
            metavar="DAYS",
            help="archive enrolments completed more than DAYS days ago",
        )
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            metavar="DIR",
            help=f"directory of the export files (default: {default_directory()})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be archived; change nothing"
        )
        parser.add_argument(
            "--batch-size",
            type=_positive,
            default=500,
            help="rows and attempts exported (fsynced) and deleted together (default 500)",
        )
        parser.add_argument("--user", action="append", help="only this user (repeatable)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        users: list[str] | None = options["user"]
        total = len(users) if users else sum(1 for _ in enrolment_repository().user_ids())
        bar = tqdm(
            total=total,
            unit="user",
            desc="dry run" if options["dry_run"] else "archiving",
            disable=options["no_progress"],
            file=self.stderr._out,
            dynamic_ncols=True,
        )

        def on_user(report: ArchiveReport) -> None:
            bar.update(1)
            bar.set_postfix(
                scopes=str(report.scopes), rows=str(report.rows_exported), refresh=False
            )

        try:
            report = archive_run(
                older_than=timedelta(days=options["older_than"]),
                directory=options["out"],
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
                user_ids=users,
                on_user=on_user,
            )
        except OSError as exc:
            raise CommandError(f"cannot write the export: {exc}") from exc
        finally:
            bar.close()
        self._print(report)

    def _print(self, report: ArchiveReport) -> None:
        verb = "would archive" if report.dry_run else "archived"
        lines = [
            f"cutoff: completed before {report.cutoff.isoformat()}",
            f"users scanned: {report.users}; enrolments: {report.enrolments}; "
            f"completed before the cutoff: {report.eligible}",
            f"{verb}: {report.scopes} enrolment scope(s) with rows or attempts",
            f"consumption rows: {report.rows_exported} exported, {report.rows_deleted} deleted, "
            f"{report.rows_kept} kept (changed during the run; archived next time)",
            f"attempts: {report.attempts_exported} exported, {report.attempts_deleted} deleted, "
            f"{report.attempts_kept} kept",
        ]
        if report.dry_run:
            lines[3:5] = [
                f"consumption rows: {report.rows_exported}",
                f"attempts: {report.attempts_exported}",
            ]
            lines.append("dry run: nothing written, nothing deleted")
        elif report.file:
            lines.append(f"file: {report.file} ({report.file_bytes} bytes)")
        else:
            lines.append("nothing to archive: no file written")
        for line in lines:
            self.stdout.write(line)
