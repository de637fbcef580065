"""The course service's date strings, ``yyyy-MM-dd HH:mm:ss:SSSZ`` (Java's SimpleDateFormat; ``Z``
is an RFC 822 offset such as ``+0000`` or ``+0530``), read into aware UTC datetimes and written
in UTC."""

import re
from datetime import UTC, datetime, timedelta, timezone

from viewer import timeutil

PATTERN = "yyyy-MM-dd HH:mm:ss:SSSZ"
_LEGACY = re.compile(
    r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}):(\d{3})([+-])(\d{2})(\d{2})", re.ASCII
)


def parse_legacy(text: str) -> datetime:
    """``2020-11-23 12:58:35:179+0530`` as an aware UTC datetime.

    Raises: ValueError (another format, or an impossible date or offset).
    """
    match = _LEGACY.fullmatch(text)
    if match is None:
        raise ValueError(f"not {PATTERN}")
    year, month, day, hour, minute, second, millis, sign, off_h, off_m = match.groups()
    if int(off_h) > 23 or int(off_m) > 59:
        raise ValueError("bad offset")
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    value = datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        int(millis) * 1000,
        tzinfo=timezone(offset),
    )
    return value.astimezone(UTC)


def is_legacy_date(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_legacy(value)
    except ValueError:
        return False
    return True


def format_legacy(value: datetime | None) -> str | None:
    """``yyyy-MM-dd HH:mm:ss:SSS+0000`` (UTC), or None."""
    return None if value is None else timeutil.envelope_ts(value)
