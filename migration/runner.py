"""The migration run: each legacy table in order, streamed in batches, each batch written and
then checkpointed, with a progress bar and a report.

Memory stays flat: a batch is the only data held (plus bounded counters). A run that was killed
resumes after the last checkpointed batch; a table already finished is not read again (its
report comes from the checkpoint). On the SQL store a batch's writes and its checkpoint commit
together; on Cassandra the batch is written again on resume, which changes nothing.
"""

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction

from .legacy import TABLES, LegacyTable
from .models import MigrationCheckpoint
from .sources import Source, SourceRow
from .writer import BatchWriter, TableReport


class MigrationError(Exception):
    """The migration cannot go on (a checkpoint of other data, an unreadable source)."""


# Called inside each batch's transaction after its writes, before its checkpoint (tests use it
# to simulate a kill at that worst moment).
BatchHook = Callable[[LegacyTable, int], None]


@dataclass
class RunReport:
    source: str
    dry_run: bool
    tables: dict[str, TableReport] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rows_this_run: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dryRun": self.dry_run,
            "tables": {name: report.to_json() for name, report in self.tables.items()},
            "missing": self.missing,
            "resumed": self.resumed,
            "alreadyDone": self.already_done,
            "seconds": round(self.seconds, 3),
            "rowsThisRun": self.rows_this_run,
        }

    def lines(self) -> list[str]:
        """The report for a person."""
        title = "DRY RUN (nothing written)" if self.dry_run else "migration report"
        out = [f"{title}: {self.source}"]
        for name, r in self.tables.items():
            flags = [
                f
                for f, on in (
                    ("resumed", name in self.resumed),
                    ("done before", name in self.already_done),
                )
                if on
            ]
            suffix = f" ({', '.join(flags)})" if flags else ""
            verb = "would write" if self.dry_run else "written"
            out.append(
                f"  {name}{suffix}: read {r.read}, {verb} {r.written}, unchanged {r.unchanged}, "
                f"rejected {sum(r.rejected.values())}, skipped {sum(r.skipped.values())}"
                + (f", summaries recomputed {r.recomputed}" if r.recomputed else "")
            )
            for label, counter in (
                ("rejected", r.rejected),
                ("skipped", r.skipped),
                ("repaired", r.repaired),
            ):
                for reason, n in counter.most_common():
                    out.append(f"      {label} {n}: {reason}")
            if r.not_aggregated:
                out.append(
                    f"      not aggregated {sum(r.not_aggregated.values())}: collection not in the "
                    "catalogue (PUT /v1/collection/{id}, then manage.py recompute_summaries "
                    "--collection <id>): "
                    + ", ".join(f"{c} ({n})" for c, n in r.not_aggregated.most_common(10))
                )
            for example in r.examples[:5]:
                out.append(f"      e.g. {example['where']}: {example['reason']}")
        for name in self.missing:
            out.append(f"  {name}: not in the source (skipped)")
        rate = self.rows_this_run / self.seconds if self.seconds else 0.0
        out.append(f"  {self.rows_this_run} rows in {self.seconds:.1f} s ({rate:.0f} rows/s)")
        return out


class Migration:
    def __init__(
        self,
        source: Source,
        *,
        batch_size: int = 500,
        dry_run: bool = False,
        restart: bool = False,
        tables: Sequence[LegacyTable] = TABLES,
        progress: IO[str] | None = None,
        rejects: IO[str] | None = None,
        log: Callable[[str], None] | None = None,
        on_batch: BatchHook | None = None,
    ) -> None:
        if batch_size < 1:
            raise MigrationError("--batch-size must be at least 1")
        self.source = source
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.restart = restart
        self.tables = tables
        self.progress = progress
        self.rejects = rejects
        self.log = log or (lambda message: None)
        self.on_batch = on_batch
        self.logged_rejects = 0

    def _on_reject(self, row: SourceRow, reason: str) -> None:
        if self.rejects is not None:
            self.rejects.write(json.dumps({"where": row.where, "reason": reason}) + "\n")
        if self.logged_rejects < 20:
            self.log(f"rejected {row.where}: {reason}")
        elif self.logged_rejects == 20:
            self.log("more rows rejected: see the report (and --rejects FILE for every one)")
        self.logged_rejects += 1

    def run(self) -> RunReport:
        report = RunReport(source=self.source.name, dry_run=self.dry_run)
        started = time.monotonic()
        if self.restart and not self.dry_run:
            MigrationCheckpoint.objects.filter(source=self.source.name).delete()
        writer = BatchWriter(dry_run=self.dry_run, on_reject=self._on_reject)
        try:
            for table in self.tables:
                if not self.source.has(table):
                    report.missing.append(table.name)
                    continue
                report.tables[table.name] = self._table(table, writer, report)
        finally:
            report.seconds = time.monotonic() - started
        return report

    def _checkpoint(self, table: LegacyTable) -> MigrationCheckpoint:
        fingerprint = self.source.fingerprint(table)
        if self.dry_run:
            return MigrationCheckpoint(source=self.source.name, table=table.name)
        checkpoint, _ = MigrationCheckpoint.objects.get_or_create(
            source=self.source.name, table=table.name, defaults={"fingerprint": fingerprint}
        )
        if checkpoint.fingerprint != fingerprint:
            if checkpoint.position or checkpoint.finished:
                raise MigrationError(
                    f"{table.name}: the source changed since the checkpoint of "
                    f"{checkpoint.updated_at:%Y-%m-%d %H:%M} ({checkpoint.fingerprint} -> "
                    f"{fingerprint}); run again with --restart to start over (safe: "
                    "writes are idempotent)"
                )
            checkpoint.fingerprint = fingerprint
            checkpoint.save(update_fields=["fingerprint"])
        return checkpoint

    def _table(self, table: LegacyTable, writer: BatchWriter, report: RunReport) -> TableReport:
        checkpoint = self._checkpoint(table)
        totals = TableReport.from_json(checkpoint.counts)
        if checkpoint.finished:
            report.already_done.append(table.name)
            return totals
        if checkpoint.position:
            report.resumed.append(table.name)
        total, unit = self.source.total(table)
        start = checkpoint.position or None
        bar = self._bar(table, total, unit, self.source.done_at(table, start))
        rows_here = 0
        try:
            batches = self.source.batches(table, start=start, size=self.batch_size)
            for number, batch in enumerate(batches, 1):
                with transaction.atomic():
                    result = writer.write(table, batch.rows)
                    if self.on_batch is not None:
                        self.on_batch(table, number)
                    totals.merge(result)
                    if not self.dry_run:
                        checkpoint.position = batch.position
                        checkpoint.counts = totals.to_json()
                        checkpoint.save(update_fields=["position", "counts", "updated_at"])
                report.rows_this_run += len(batch.rows)
                rows_here += len(batch.rows)
                if bar is not None:
                    bar.update(max(batch.done - bar.n, 0))
                    elapsed = time.monotonic() - bar.start_t
                    rate = f"{rows_here / elapsed:.0f}" if elapsed > 0.5 else "…"
                    bar.set_postfix_str(
                        f"{totals.read} rows, {rate} rows/s, "
                        f"{totals.written} written, {sum(totals.rejected.values())} rejected",
                        refresh=False,
                    )
            if not self.dry_run:
                checkpoint.finished = True
                checkpoint.save(update_fields=["finished", "updated_at"])
        finally:
            if bar is not None:
                bar.close()
        return totals

    def _bar(self, table: LegacyTable, total: int, unit: str, initial: int) -> Any:
        if self.progress is None:
            return None
        from tqdm import tqdm

        return tqdm(
            total=total,
            initial=initial,
            unit=unit,
            unit_scale=unit == "B",
            unit_divisor=1024,
            desc=table.name,
            file=self.progress,
            dynamic_ncols=True,
            mininterval=0.5,
        )
