"""CQL values as ``cqlsh COPY TO`` writes them in CSV, parsed into Python values.

What cqlsh (6.x, the one in Cassandra 4 and 5) writes, checked against real exports
(``tests/migration/data/``): a null is an empty field; text has its backslashes doubled and
control characters written as Python escapes (``\\n``, ``\\x01``); booleans are ``True`` and
``False``; timestamps ``2021-06-23 05:37:40.575+0000`` (older cqlsh: no fraction, or
``DATETIMEFORMAT`` chosen by the operator); doubles with 12 significant digits at the top level
and 5 inside collections unless exported ``WITH FLOATPRECISION = 17 AND DOUBLEPRECISION = 17``;
collections and user-defined types as CQL literals (``{'k': 1}``, ``[{'a': 'b'}]``,
``{id: 'q1', score: 1, title: , ...}``) where strings are single-quoted with ``''`` for a quote,
and a null field of a UDT is written as nothing at all.

The parser is driven by the column's declared type, so a value that does not fit its type is an
error naming the position (the row is then reported, not written).
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any


class LiteralError(ValueError):
    """A value that is not a valid literal of its column's type."""


@dataclass(frozen=True)
class CqlType:
    name: str
    params: tuple["CqlType", ...] = ()
    fields: tuple[tuple[str, "CqlType"], ...] = field(default=())

    def __str__(self) -> str:
        if self.params:
            return f"{self.name}<{', '.join(str(p) for p in self.params)}>"
        return self.name


INTEGERS = {"int", "bigint", "smallint", "tinyint", "varint", "counter"}
FLOATS = {"double", "float", "decimal"}
TEXTS = {"text", "varchar", "ascii"}
SCALARS = INTEGERS | FLOATS | TEXTS | {"boolean", "timestamp"}


def parse_type(text: str, udts: dict[str, "CqlType"] | None = None) -> CqlType:
    """A type such as ``list<frozen<map<text,text>>>``; names in ``udts`` are user types."""
    udts = udts or {}
    tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[<>,]", text)
    position = 0

    def parse() -> CqlType:
        nonlocal position
        name = tokens[position].lower()
        position += 1
        params: list[CqlType] = []
        if position < len(tokens) and tokens[position] == "<":
            position += 1
            params.append(parse())
            while tokens[position] == ",":
                position += 1
                params.append(parse())
            position += 1  # ">"
        if name == "frozen":
            return params[0]
        if name in udts:
            return udts[name]
        if name not in SCALARS | {"map", "list", "set"}:
            raise ValueError(f"unsupported CQL type {name!r}")
        return CqlType(name, tuple(params))

    return parse()


def udt(name: str, fields: dict[str, str], udts: dict[str, CqlType] | None = None) -> CqlType:
    return CqlType(name, (), tuple((k, parse_type(v, udts)) for k, v in fields.items()))


_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPE = re.compile(r"\\(\\|n|t|r|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")
_SIMPLE = {"\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def unescape_text(value: str) -> str:
    """Undo cqlsh's text escaping: ``\\\\`` is a backslash, ``\\n``/``\\t``/``\\r``/``\\xNN``
    are the control characters (other backslashes are kept as they are)."""

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        return _SIMPLE.get(code) or chr(int(code[1:], 16))

    return _ESCAPE.sub(replace, value) if "\\" in value else value


_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.:](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_timestamp(value: str) -> datetime:
    """A timestamp as cqlsh writes it (any fraction, offset ``+0000``/``+00:00``/``Z`` or none
    meaning UTC), the legacy ``yyyy-MM-dd HH:mm:ss:SSSZ``, a date, or epoch milliseconds.
    Aware UTC, millisecond precision."""
    value = value.strip()
    if re.fullmatch(r"-?\d{9,}", value):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(value))
    match = _TIMESTAMP.match(value)
    if match is None:
        raise LiteralError(f"not a timestamp: {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:3].ljust(3, "0")) * 1000,
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise LiteralError(f"not a timestamp: {value!r} ({exc})") from exc
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        moment = moment - offset if zone[0] == "+" else moment + offset
    return moment


def parse_boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"true", "yes", "1"}:
        return True
    if lowered in {"false", "no", "0"}:
        return False
    raise LiteralError(f"not a boolean: {value!r}")


def _scalar(token: str, cql_type: CqlType) -> Any:
    """A scalar from its text (already unquoted for strings)."""
    name = cql_type.name
    try:
        if name in TEXTS:
            return unescape_text(token)
        if name in INTEGERS:
            return int(token)
        if name in FLOATS:
            number = float(token)
            if math.isnan(number) and token.strip().lower() not in {"nan"}:
                raise ValueError(token)
            return number
        if name == "boolean":
            return parse_boolean(token)
        if name == "timestamp":
            return parse_timestamp(token)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, LiteralError):
            raise
        raise LiteralError(f"not a {name}: {token!r}") from exc
    raise LiteralError(f"unsupported type {name}")


def parse_field(value: str, cql_type: CqlType) -> Any:
    """One CSV field of a column of ``cql_type``: None for an empty field."""
    if value == "":
        return None
    if cql_type.name in SCALARS:
        return _scalar(value, cql_type)
    parser = _LiteralParser(value)
    result = parser.value(cql_type)
    parser.end()
    return result


class _LiteralParser:
    """Recursive descent over one collection or UDT literal, guided by the expected type."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> LiteralError:
        found = self.text[self.pos : self.pos + 12] or "the end"
        return LiteralError(f"expected {expected}, found {found!r} (position {self.pos})")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(repr(char))
        self.pos += 1

    def end(self) -> None:
        if self.peek():
            raise self.fail("the end of the value")

    def quoted(self) -> str:
        self.expect("'")
        out: list[str] = []
        while True:
            end = self.text.find("'", self.pos)
            if end < 0:
                raise self.fail("a closing quote")
            out.append(self.text[self.pos : end])
            self.pos = end + 1
            if self.text.startswith("'", self.pos):  # '' is a quote inside the string
                out.append("'")
                self.pos += 1
                continue
            return "".join(out)

    def bare(self) -> str:
        self.skip()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",:}]":
            self.pos += 1
        return self.text[start : self.pos].strip()

    def value(self, cql_type: CqlType, *, nullable: bool = False) -> Any:
        char = self.peek()
        if nullable and char in {",", "}", ""}:
            return None  # cqlsh writes a null UDT field as nothing
        name = cql_type.name
        if name == "map":
            return self.collection("{", "}", cql_type, pairs=True)
        if name in {"list", "set"}:
            opening, closing = ("[", "]") if name == "list" else ("{", "}")
            if name == "list" and char == "{":  # some exporters write lists of sets alike
                opening, closing = "{", "}"
            return self.collection(opening, closing, cql_type, pairs=False)
        if cql_type.fields:
            return self.udt(cql_type)
        if char == "'":
            return _scalar(self.quoted(), cql_type)
        token = self.bare()
        if not token:
            raise self.fail(f"a {name}")
        if token.lower() == "null":
            return None
        return _scalar(token, cql_type)

    def collection(self, opening: str, closing: str, cql_type: CqlType, *, pairs: bool) -> Any:
        self.expect(opening)
        items: list[Any] = []
        result: dict[Any, Any] = {}
        if self.peek() == closing:
            self.pos += 1
            return result if pairs else items
        while True:
            if pairs:
                key = self.value(cql_type.params[0])
                self.expect(":")
                result[key] = self.value(cql_type.params[1])
            else:
                items.append(self.value(cql_type.params[0]))
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect(closing)
            return result if pairs else items

    def udt(self, cql_type: CqlType) -> dict[str, Any]:
        types = dict(cql_type.fields)
        self.expect("{")
        result: dict[str, Any] = dict.fromkeys(types)
        if self.peek() == "}":
            self.pos += 1
            return result
        while True:
            self.skip()
            if self.peek() == '"':
                end = self.text.find('"', self.pos + 1)
                name, self.pos = self.text[self.pos + 1 : end], end + 1
            else:
                match = _FIELD_NAME.match(self.text, self.pos)
                if match is None:
                    raise self.fail("a field name")
                name, self.pos = match.group(0).lower(), match.end()
            if name not in types:
                raise LiteralError(f"unknown field {name!r} of type {cql_type.name}")
            self.expect(":")
            result[name] = self.value(types[name], nullable=True)
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("}")
            return result


def from_driver(value: Any) -> Any:
    """A value as the Cassandra driver returns it, in the parser's shapes: aware UTC datetimes,
    floats for decimals, dicts for maps and user types, lists for lists and sets."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "_asdict"):  # a user-defined type value (a named tuple)
        return {k: from_driver(v) for k, v in value._asdict().items()}
    if hasattr(value, "items"):
        return {from_driver(k): from_driver(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset) or hasattr(value, "__iter__"):
        return [from_driver(v) for v in value]
    return value
