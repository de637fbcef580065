"""Archiving: the consumption rows and attempts of enrolments completed long ago leave the store
for gzip JSON Lines files, while every read API keeps its answer.

What is archived: for each enrolment with status 2 completed before the cutoff, the rows and
attempts stored under its own (collection, context) — the keys of the strict, copy and move
modes. Rows the collection and content modes share between enrolments (keyed by collection or
by content) are not touched. What stays: the consumption repository folds the archived rows
into one archive row per scope (``consumption/repositories/archived.py``: all but
``progressDetails``), the attempt repository keeps the best attempt and the attempt ids per
content (``assessments/repositories/archived.py``); reads merge them with live rows.

Safety: a batch is written to the file and fsynced before any of its rows is deleted; the
archive record is written before the rows it replaces are deleted; a row (or attempt) is
deleted only as it was read and exported — one written since stays live, for the next run. A
crash at any point leaves the data in the store (possibly also in the file, or in both the
archive record and the live rows, which reads merge); running again is idempotent.
"""

import gzip
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings

from assessments.domain import Attempt
from assessments.repositories import attempt_repository
from consumption.domain import Consumption
from consumption.repositories import consumption_repository
from consumption.repositories.archived import is_archive
from viewer import storage, timeutil
from viewer.identifiers import Scope

from .domain import Enrolment
from .repositories import enrolment_repository

CONSUMPTION_TABLE = "user_content_consumption"
ATTEMPT_TABLE = "assessment_aggregator"


@dataclass
class ArchiveReport:
    """What a run did (or, dry, would do)."""

    cutoff: datetime
    dry_run: bool
    users: int = 0
    enrolments: int = 0
    eligible: int = 0
    scopes: int = 0
    rows_exported: int = 0
    rows_deleted: int = 0
    attempts_exported: int = 0
    attempts_deleted: int = 0
    file: str | None = None
    file_bytes: int = 0

    @property
    def rows_kept(self) -> int:
        """Exported rows left in the store: they changed after they were read."""
        return self.rows_exported - self.rows_deleted

    @property
    def attempts_kept(self) -> int:
        return self.attempts_exported - self.attempts_deleted


@dataclass
class _Scope:
    enrolment: Enrolment
    rows: list[Consumption]
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def scope(self) -> Scope:
        e = self.enrolment
        return Scope(user_id=e.user_id, collection_id=e.collection_id, context_id=e.context_id)


def default_directory() -> Path:
    """``MEDIA_ROOT/archive``: the service's persistent files (never served as such)."""
    return Path(settings.MEDIA_ROOT) / "archive"


def archive_eligible(*, enrolment: Enrolment, cutoff: datetime) -> bool:
    """Completed (terminal) before ``cutoff``."""
    return (
        enrolment.status == 2
        and enrolment.completed_on is not None
        and enrolment.completed_on < cutoff
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return timeutil.to_ms(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _row_line(row: Consumption) -> dict[str, Any]:
    key = row.key
    return {
        "table": CONSUMPTION_TABLE,
        "userId": key.user_id,
        "collectionId": key.collection_id,
        "contextId": key.context_id,
        "contentId": key.content_id,
        "status": row.status,
        "progress": row.progress,
        "progressDetails": row.progress_details,
        "timeSpent": row.time_spent,
        "lastAccessTime": row.last_access_time,
        "lastCompletedTime": row.last_completed_time,
        "lastUpdatedTime": row.last_updated_time,
        "provenance": row.provenance,
    }


def _attempt_line(attempt: Attempt) -> dict[str, Any]:
    key = attempt.key
    return {
        "table": ATTEMPT_TABLE,
        "userId": key.user_id,
        "collectionId": key.collection_id,
        "contextId": key.context_id,
        "contentId": key.content_id,
        "attemptId": attempt.attempt_id,
        "assessmentTs": attempt.assessment_ts,
        "totalScore": attempt.total_score,
        "totalMaxScore": attempt.total_max_score,
        "grandTotal": attempt.grand_total,
        "createdOn": attempt.created_on,
        "updatedOn": attempt.updated_on,
        "questions": [asdict(q) for q in attempt.questions],
    }


def _lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(r, default=_json_value, sort_keys=True).encode() + b"\n" for r in records
    )


class _ExportFile:
    """One file per run, ``viewer-archive-<UTC time>.jsonl.gz``: one gzip member per batch
    (``zcat`` and Python's gzip read them as one stream), each fsynced before the batch's rows
    are deleted. Written as ``….partial`` and renamed when the run ends; a file left
    ``.partial`` by a crash holds whole members, and perhaps a torn last one whose rows were
    not deleted."""

    def __init__(self, directory: Path, started: datetime) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        stamp = started.strftime("%Y%m%dT%H%M%S") + f"{started.microsecond // 1000:03d}Z"
        self.path = directory / f"viewer-archive-{stamp}.jsonl.gz"
        self.partial = self.path.with_name(self.path.name + ".partial")
        self._file: BinaryIO = open(self.partial, "xb")  # noqa: SIM115  (closed in close())
        self.size = 0

    def write(self, payload: bytes) -> None:
        member = gzip.compress(payload, mtime=0)
        self._file.write(member)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.size += len(member)

    def close(self) -> Path:
        self._file.close()
        os.replace(self.partial, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself is durable
        finally:
            os.close(directory)
        return self.path


def _eligible_scopes(
    *, cutoff: datetime, report: ArchiveReport, user_ids: Iterator[str]
) -> Iterator[list[_Scope]]:
    """Per user: the scopes of eligible enrolments, with their live rows and attempts."""
    for user_id in user_ids:
        report.users += 1
        enrolments = enrolment_repository().list_for_user(user_id=user_id)
        report.enrolments += len(enrolments)
        eligible = [e for e in enrolments if archive_eligible(enrolment=e, cutoff=cutoff)]
        report.eligible += len(eligible)
        if not eligible:
            yield []
            continue
        by_scope: dict[tuple[str, str], list[Consumption]] = {}
        for row in consumption_repository().list_user(user_id=user_id):
            if not is_archive(row):
                by_scope.setdefault((row.key.collection_id, row.key.context_id), []).append(row)
        found = []
        for enrolment in eligible:
            item = _Scope(
                enrolment=enrolment,
                rows=by_scope.get((enrolment.collection_id, enrolment.context_id), []),
                attempts=attempt_repository().list_scope(
                    user_id=user_id,
                    collection_id=enrolment.collection_id,
                    context_id=enrolment.context_id,
                ),
            )
            if item.rows or item.attempts:
                found.append(item)
        yield found


def archive_run(
    *,
    older_than: timedelta,
    directory: Path | None = None,
    dry_run: bool = False,
    batch_size: int = 500,
    user_ids: list[str] | None = None,
    on_user: Callable[[ArchiveReport], None] | None = None,
) -> ArchiveReport:
    """Archive the rows and attempts of enrolments completed more than ``older_than`` ago
    (every user's, or ``user_ids``'), ``batch_size`` rows and attempts at a time. Dry: count
    only, write nothing, delete nothing. ``on_user`` is called after each user (progress).

    Raises: StoreUnavailableError (the store could not be reached: what was done stays done).
    """
    started = timeutil.now()
    report = ArchiveReport(cutoff=started - older_than, dry_run=dry_run)
    users = iter(user_ids) if user_ids is not None else enrolment_repository().user_ids()
    export: _ExportFile | None = None
    pending: list[_Scope] = []
    pending_size = 0

    def flush() -> None:
        nonlocal export, pending, pending_size
        if not pending:
            return
        if export is None:
            export = _ExportFile(directory or default_directory(), started)
            header = {
                "table": "_run",
                "startedAt": started,
                "cutoff": report.cutoff,
                "olderThanDays": older_than / timedelta(days=1),
                "store": settings.VIEWER_STORE,
            }
            export.write(_lines([header]))
        records = [_row_line(r) for item in pending for r in item.rows]
        records += [_attempt_line(a) for item in pending for a in item.attempts]
        export.write(_lines(records))  # durable before anything is deleted
        for item in pending:
            _archive_scope(item, report)
        pending, pending_size = [], 0

    try:
        for scopes in _eligible_scopes(cutoff=report.cutoff, report=report, user_ids=users):
            for item in scopes:
                report.scopes += 1
                report.rows_exported += len(item.rows)
                report.attempts_exported += len(item.attempts)
                if dry_run:
                    continue
                pending.append(item)
                pending_size += len(item.rows) + len(item.attempts)
                if pending_size >= batch_size:
                    flush()
            if on_user is not None:
                on_user(report)
        flush()
    finally:
        if export is not None:
            report.file, report.file_bytes = str(export.close()), export.size
    return report


def _archive_scope(item: _Scope, report: ArchiveReport) -> None:
    e = item.enrolment
    at = timeutil.now()
    deleted = consumption_repository().archive_scope(scope=item.scope, rows=item.rows, at=at)
    report.rows_deleted += len(deleted)
    if deleted:  # their statuses now come from the archive row; the map reloads on a read
        storage.status_map().forget_scope(scope=item.scope)
    report.attempts_deleted += attempt_repository().archive_scope(
        user_id=e.user_id,
        collection_id=e.collection_id,
        context_id=e.context_id,
        attempts=item.attempts,
        at=at,
    )
