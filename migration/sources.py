"""Where legacy rows come from: a Cassandra keyspace, or ``cqlsh COPY TO`` CSV files.

Both stream a table in batches, each batch ending at a position the next run can resume from:

* **Cassandra**: a token scan, ``SELECT token(<partition key>), ... WHERE token(...) > ?``,
  paged by the driver. A batch ends only between partitions, and its position is the token of
  its last partition, so a resumed scan skips exactly the partitions already done. Progress is
  the share of the token ring scanned (Murmur3 tokens spread evenly).
* **CSV**: ``<dir>/<table>.csv``, read as bytes so a batch's position is the byte offset after
  its last record (a quoted field may span lines). Progress is bytes read.

A row that cannot be parsed comes as a ``SourceRow`` with ``error`` set, never an exception.
"""

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .cqlvalues import LiteralError, from_driver, parse_field
from .legacy import LegacyTable

MIN_TOKEN = -(2**63)
RING = 2**64


class SourceError(Exception):
    """The source cannot be read at all (missing columns, unreachable cluster): fatal."""


@dataclass(frozen=True)
class SourceRow:
    where: str  # how to find the row again: file:line, or its primary key
    values: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class Batch:
    rows: list[SourceRow]
    position: str  # resume after this batch from here
    done: int  # progress units done after this batch


class Source(Protocol):
    name: str  # identifies the source in checkpoints

    def has(self, table: LegacyTable) -> bool: ...

    def fingerprint(self, table: LegacyTable) -> str:
        """Changes when the table's data is replaced (a checkpoint then no longer applies)."""

    def total(self, table: LegacyTable) -> tuple[int, str]:
        """(progress units of the whole table, unit name)."""

    def done_at(self, table: LegacyTable, position: str | None) -> int:
        """Progress units done at a checkpoint position."""

    def batches(self, table: LegacyTable, *, start: str | None, size: int) -> Iterator[Batch]: ...

    def close(self) -> None: ...


# --- CSV -------------------------------------------------------------------------------------

CSV_DIALECT = {"quotechar": '"', "escapechar": "\\", "doublequote": False, "delimiter": ","}


class CsvSource:
    """``<dir>/<table>.csv`` files as ``COPY <table> TO '<table>.csv' WITH HEADER = true``
    writes them (cqlsh's defaults: ``"`` quotes, ``\\`` escapes, null as an empty field). A
    file without a header must have the documented schema's columns in cqlsh's order."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        if not self.directory.is_dir():
            raise SourceError(f"--csv-dir {directory}: not a directory")
        self.name = f"csv:{self.directory}"

    def path(self, table: LegacyTable) -> Path:
        return self.directory / f"{table.name}.csv"

    def has(self, table: LegacyTable) -> bool:
        return self.path(table).is_file()

    def fingerprint(self, table: LegacyTable) -> str:
        stat = self.path(table).stat()
        with self.path(table).open("rb") as handle:
            head = hashlib.sha256(handle.read(65536)).hexdigest()[:16]
        return f"{stat.st_size}:{head}"

    def total(self, table: LegacyTable) -> tuple[int, str]:
        return self.path(table).stat().st_size, "B"

    def done_at(self, table: LegacyTable, position: str | None) -> int:
        return int(position.partition(":")[0]) if position else 0

    def _records(
        self, handle: io.BufferedReader, offset: int
    ) -> Iterator[tuple[list[str] | None, str | None, int, int, int]]:
        """(fields or None, error, start line, end offset, end line) per record from ``offset``
        (lines counted from 1 at ``offset``)."""
        handle.seek(offset)
        state = {"offset": offset, "line": 0}

        def lines() -> Iterator[str]:
            while True:
                raw = handle.readline()
                if not raw:
                    return
                state["offset"] += len(raw)
                state["line"] += 1
                yield raw.decode("utf-8", errors="replace")

        reader = csv.reader(lines(), **CSV_DIALECT)  # type: ignore[arg-type]
        while True:
            start_line = state["line"] + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield None, f"not CSV: {exc}", start_line, state["offset"], state["line"]
                continue
            yield fields, None, start_line, state["offset"], state["line"]

    def _header(self, table: LegacyTable) -> tuple[list[str], int, int]:
        """(column names, byte offset of the first data record, its line number)."""
        with self.path(table).open("rb") as handle:
            for fields, _error, _line, end, _end_line in self._records(handle, 0):
                names = [f.strip().lower() for f in fields or []]
                if set(table.key) <= set(names):
                    return names, end, 2
                order = table.cqlsh_order()
                if fields is not None and len(fields) == len(order):
                    return order, 0, 1
                raise SourceError(
                    f"{self.path(table)}: no header naming {', '.join(table.key)}, and "
                    f"{len(fields or [])} columns where the documented schema has {len(order)}: "
                    "export WITH HEADER = true"
                )
        return table.cqlsh_order(), 0, 1

    def batches(self, table: LegacyTable, *, start: str | None, size: int) -> Iterator[Batch]:
        names, first, first_line = self._header(table)
        missing = [c for c in table.key if c not in names]
        if missing:
            raise SourceError(f"{self.path(table)}: no column {', '.join(missing)}")
        types = table.types()
        offset, line_base = first, first_line - 1
        if start:
            offset_text, _, line_text = start.partition(":")
            offset, line_base = int(offset_text), int(line_text or 0)
        rows: list[SourceRow] = []
        position, done = f"{offset}:{line_base}", offset
        with self.path(table).open("rb") as handle:
            for fields, error, line, end, end_line in self._records(handle, offset):
                position, done = f"{end}:{line_base + end_line}", end
                if error is None and fields is not None and not any(fields):
                    continue  # a blank line
                where = f"{self.path(table).name}:{line_base + line}"
                rows.append(self._row(where, names, types, fields, error))
                if len(rows) >= size:
                    yield Batch(rows, position, done)
                    rows = []
        if rows:
            yield Batch(rows, position, done)

    @staticmethod
    def _row(
        where: str,
        names: list[str],
        types: dict[str, Any],
        fields: list[str] | None,
        error: str | None,
    ) -> SourceRow:
        if fields is None:
            return SourceRow(where, {}, error)
        if len(fields) != len(names):
            return SourceRow(
                where, {}, f"wrong number of fields ({len(fields)}, the header has {len(names)})"
            )
        values: dict[str, Any] = {}
        for name, text in zip(names, fields, strict=True):
            cql_type = types.get(name)
            if cql_type is None:
                continue  # a column the migration does not use
            try:
                values[name] = parse_field(text, cql_type)
            except LiteralError as exc:
                return SourceRow(where, values, f"column {name}: {exc}")
        return SourceRow(where, values)

    def close(self) -> None:
        pass


# --- Cassandra -------------------------------------------------------------------------------


class CassandraSource:
    """A legacy keyspace, read through a cluster connection of its own."""

    def __init__(
        self,
        *,
        keyspace: str,
        hosts: list[str],
        port: int,
        username: str = "",
        password: str = "",
        consistency: str = "LOCAL_QUORUM",
        timeout: float = 30.0,
    ) -> None:
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import Cluster, NoHostAvailable
        from cassandra.query import dict_factory

        from viewer import cql

        self.keyspace = keyspace
        self.name = f"cassandra:{','.join(hosts)}:{port}/{keyspace}"
        auth = PlainTextAuthProvider(username, password) if username else None
        self.cluster = Cluster(hosts, port=port, auth_provider=auth)
        try:
            self.session = self.cluster.connect()
        except NoHostAvailable as exc:
            self.cluster.shutdown()
            raise SourceError(f"Cassandra at {hosts}:{port} does not answer: {exc}") from exc
        self.session.row_factory = dict_factory
        self.session.default_timeout = timeout
        self.consistency = cql.consistency(consistency)
        if keyspace not in self.cluster.metadata.keyspaces:
            self.close()
            raise SourceError(f"no keyspace {keyspace!r} at {hosts}:{port}")

    def _columns(self, table: LegacyTable) -> list[str]:
        meta = self.cluster.metadata.keyspaces[self.keyspace].tables[table.name]
        present = set(meta.columns)
        missing = [c for c in table.key if c not in present]
        if missing:
            raise SourceError(f"{self.keyspace}.{table.name}: no column {', '.join(missing)}")
        return [c for c in table.columns if c in present]

    def has(self, table: LegacyTable) -> bool:
        return table.name in self.cluster.metadata.keyspaces[self.keyspace].tables

    def fingerprint(self, table: LegacyTable) -> str:
        row = self.session.execute(
            "SELECT id FROM system_schema.tables WHERE keyspace_name = %s AND table_name = %s",
            (self.keyspace, table.name),
        ).one()
        return str(row["id"]) if row else table.name

    def total(self, table: LegacyTable) -> tuple[int, str]:
        return 10000, "‱ of ring"

    def done_at(self, table: LegacyTable, position: str | None) -> int:
        return self._done(int(position)) if position else 0

    def batches(self, table: LegacyTable, *, start: str | None, size: int) -> Iterator[Batch]:
        from cassandra.query import SimpleStatement

        columns = self._columns(table)
        token = f"token({', '.join(table.partition_key)})"
        cql = f"SELECT {token} AS migration_token, {', '.join(columns)} FROM {self.keyspace}.{table.name}"  # noqa: E501, S608 - names from the legacy table spec
        params: tuple[Any, ...] = ()
        if start:
            cql += f" WHERE {token} > %s"
            params = (int(start),)
        statement = SimpleStatement(cql, fetch_size=size, consistency_level=self.consistency)
        rows: list[SourceRow] = []
        current: int | None = None
        for raw in self.session.execute(statement, params):
            partition = raw.pop("migration_token")
            if partition != current and current is not None and len(rows) >= size:
                yield Batch(rows, str(current), self._done(current))
                rows = []
            current = partition
            values = {name: from_driver(value) for name, value in raw.items()}
            where = ", ".join(f"{k}={values.get(k)!r}" for k in table.key)
            rows.append(SourceRow(f"{table.name}({where})", values))
        if rows and current is not None:
            yield Batch(rows, str(current), 10000)

    @staticmethod
    def _done(token: int) -> int:
        return (token - MIN_TOKEN) * 10000 // RING

    def close(self) -> None:
        self.cluster.shutdown()
