"""Writes legacy rows as ``cqlsh COPY <table> TO ... WITH HEADER = true`` does (the format
``cqlvalues`` parses): for the tests and the benchmark, which need exports without a cqlsh."""

import csv
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .cqlvalues import FLOATS, INTEGERS, TEXTS, CqlType
from .legacy import LegacyTable
from .sources import CSV_DIALECT

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\xa0]")


def _text(value: str) -> str:
    escaped = value.replace("\\", "\\\\")
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], escaped)


def _format(value: Any, cql_type: CqlType, *, quote: bool) -> str:
    if value is None:
        return ""
    name = cql_type.name
    if name in TEXTS:
        text = _text(value)
        return "'" + text.replace("'", "''") + "'" if quote else text
    if name == "timestamp":
        moment = value.astimezone(UTC) if isinstance(value, datetime) else value
        text = moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
        return f"'{text}'" if quote else text
    if name == "boolean":
        return "True" if value else "False"
    if name in INTEGERS:
        return str(int(value))
    if name in FLOATS:
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number) if number != int(number) else str(int(number))
    if name == "map":
        key_type, value_type = cql_type.params
        items = (
            f"{_format(k, key_type, quote=True)}: {_format(v, value_type, quote=True)}"
            for k, v in sorted(value.items())
        )
        return "{" + ", ".join(items) + "}"
    if name in {"list", "set"}:
        inner = ", ".join(_format(v, cql_type.params[0], quote=True) for v in value)
        return f"[{inner}]" if name == "list" else "{" + inner + "}"
    if cql_type.fields:
        parts = (
            f"{field}: {_format(value.get(field), ftype, quote=True)}"
            for field, ftype in cql_type.fields
        )
        return "{" + ", ".join(parts) + "}"
    raise ValueError(f"cannot format {cql_type}")


class CsvTableWriter:
    """One table's CSV: the header, then a row per ``write``."""

    def __init__(self, handle: IO[str], table: LegacyTable) -> None:
        self.table = table
        self.types = table.types()
        self.columns = table.cqlsh_order()
        self.writer = csv.writer(handle, lineterminator="\n", **CSV_DIALECT)  # type: ignore[arg-type]
        self.writer.writerow(self.columns)

    def write(self, row: dict[str, Any]) -> None:
        self.writer.writerow(
            [_format(row.get(c), self.types[c], quote=False) for c in self.columns]
        )


def write_table(directory: Path, table: LegacyTable, rows: Iterable[dict[str, Any]]) -> Path:
    path = directory / f"{table.name}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = CsvTableWriter(handle, table)
        for row in rows:
            writer.write(row)
    return path
