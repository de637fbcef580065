"""Time helpers: the API speaks epoch milliseconds (UTC); the store keeps aware UTC datetimes
truncated to milliseconds (Cassandra's precision), so both backends answer the same."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone


def now() -> datetime:
    """The current time, aware UTC, truncated to milliseconds."""
    return truncate_ms(timezone.now())


def truncate_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return EPOCH + ms * _MS


def to_ms(value: datetime | None) -> int | None:
    return None if value is None else (value - EPOCH) // _MS


def envelope_ts(value: datetime) -> str:
    """The envelope's ``ts``: Sunbird's ``yyyy-MM-dd HH:mm:ss:SSSZ`` in UTC."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S:") + f"{value.microsecond // 1000:03d}+0000"


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a ``Z`` suffix."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
