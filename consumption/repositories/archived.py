"""The archive row of a scope: what ``archive_consumption`` keeps of the rows it removed.

A scope's (user, collection, context) archived rows are folded into one row of the same table,
under the reserved content id ``""`` (an API id is never empty), in the same partition as the
rows it replaces: ``progress_details`` holds ``{"archived": {contentId: [status, progress,
timeSpent, lastAccessMs, lastCompletedMs, provenance]}}``. Everything of a row but its player
state (``progressDetails``) and ``lastUpdatedTime`` is kept.

Reads put the archived rows back: ``get_many`` and ``list_scope`` answer an archived row as a
row (``progress_details`` None), merged with a live row of the same key (a content opened
again after archiving) by the rules of the table, which only rise: the higher status,
progress, time spent and last access; the first completion time. ``list_user`` answers the
archive row itself (so a summary delete removes it and a move carries it like any other row).
"""

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from viewer import timeutil
from viewer.identifiers import ConsumptionKey, Scope

from ..domain import Consumption, Status, WriteOutcome

ARCHIVE_CONTENT_ID = ""
PACK = "archived"


def archive_key(scope: Scope) -> ConsumptionKey:
    return ConsumptionKey(scope.user_id, scope.collection_id, scope.context_id, ARCHIVE_CONTENT_ID)


def is_archive(row: Consumption) -> bool:
    return row.key.content_id == ARCHIVE_CONTENT_ID


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)


def merged(live: Consumption | None, archived: Consumption | None) -> Consumption | None:
    """One row from its live and archived versions (either may be missing)."""
    if live is None or archived is None:
        return live or archived
    return replace(
        live,
        status=max(live.status, archived.status),
        progress=max(live.progress, archived.progress),
        time_spent=max(live.time_spent, archived.time_spent),
        last_access_time=_later(live.last_access_time, archived.last_access_time),
        last_completed_time=archived.last_completed_time or live.last_completed_time,
        provenance=live.provenance or archived.provenance,
    )


def unpack(archive: Consumption) -> dict[str, Consumption]:
    """The archived rows of an archive row, by content id."""
    pack = (archive.progress_details or {}).get(PACK) or {}
    rows = {}
    for content_id, values in pack.items():
        status, progress, time_spent, access, completed, provenance = values
        rows[content_id] = Consumption(
            key=replace(archive.key, content_id=content_id),
            status=status,
            progress=progress,
            time_spent=time_spent,
            last_access_time=None if access is None else timeutil.from_ms(access),
            last_completed_time=None if completed is None else timeutil.from_ms(completed),
            provenance=provenance,
        )
    return rows


def packed(
    *, scope: Scope, existing: Consumption | None, rows: Iterable[Consumption], at: datetime
) -> Consumption:
    """The scope's archive row once ``rows`` are folded into ``existing`` (if any)."""
    archived = unpack(existing) if existing is not None else {}
    for row in rows:
        row = merged(row, archived.get(row.key.content_id))  # type: ignore[assignment]
        archived[row.key.content_id] = row
    pack = {
        content_id: [
            row.status,
            row.progress,
            row.time_spent,
            timeutil.to_ms(row.last_access_time),
            timeutil.to_ms(row.last_completed_time),
            row.provenance,
        ]
        for content_id, row in sorted(archived.items())
    }
    completions = [r.last_completed_time for r in archived.values() if r.status == Status.COMPLETED]
    return Consumption(
        key=archive_key(scope),
        # Status 0: the archive row is never a carry source, and ranks below any real row.
        status=Status.NOT_STARTED,
        progress=0,
        progress_details={PACK: pack},
        time_spent=0.0,
        last_access_time=max(
            (r.last_access_time for r in archived.values() if r.last_access_time is not None),
            default=None,
        ),
        # The latest completion: what a move's rules judge the scope's rows by.
        last_completed_time=max((t for t in completions if t is not None), default=None),
        last_updated_time=at,
        provenance=existing.provenance if existing is not None else None,
    )


def missing_outcome(archive: Consumption | None, content_id: str) -> WriteOutcome:
    """An update or end of a row that is not in the store: a row archived completed answers as
    a completed row does (unchanged); otherwise the view was never started (or must start
    again: an archived row in progress is not written to)."""
    row = unpack(archive).get(content_id) if archive is not None else None
    if row is not None and row.status >= Status.COMPLETED:
        return WriteOutcome.UNCHANGED
    return WriteOutcome.MISSING


def resolved(rows: Sequence[Consumption], keys: Sequence[ConsumptionKey]) -> list[Consumption]:
    """``get_many``'s answer: for each requested key (once), its live row merged with its
    archived version; an archive row itself only when its key was asked for."""
    live = {row.key: row for row in rows}
    archives: dict[tuple[str, str], dict[str, Consumption]] = {}
    for row in rows:
        if is_archive(row):
            archives[(row.key.collection_id, row.key.context_id)] = unpack(row)
    result = []
    for key in dict.fromkeys(keys):
        if key.content_id == ARCHIVE_CONTENT_ID:
            found = live.get(key)
        else:
            scope = archives.get((key.collection_id, key.context_id), {})
            found = merged(live.get(key), scope.get(key.content_id))
        if found is not None:
            result.append(found)
    return result


def expanded(rows: Sequence[Consumption]) -> list[Consumption]:
    """``list_scope``'s answer: the live rows and the archived ones, merged, by content id."""
    by_content: dict[str, Consumption] = {}
    for row in rows:
        if not is_archive(row):
            by_content[row.key.content_id] = row
    for row in rows:
        if is_archive(row):
            for content_id, archived in unpack(row).items():
                found = merged(by_content.get(content_id), archived)
                assert found is not None
                by_content[content_id] = found
    return [by_content[c] for c in sorted(by_content)]
