"""Request validation shared by every endpoint: strict fields and precise, field-naming errors.

DRF's stock fields coerce (``"5"`` becomes 5, ``1`` becomes ``"1"``); a tracking API must not guess,
so the fields here accept exactly one JSON type. Every error names the field by its JSON path,
e.g. ``request.contentId``.
"""

import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from . import timeutil
from .catalogue import day_end, day_start
from .errors import ClientError, InvalidParameterError, MandatoryParameterMissingError

MAX_ID_LENGTH = 256
MISSING_CODES = frozenset({"required", "null", "blank"})


def _flatten(detail: Any, path: str) -> list[tuple[str, ErrorDetail]]:
    if isinstance(detail, Mapping):
        out: list[tuple[str, ErrorDetail]] = []
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                child = path
            elif isinstance(key, int):  # DRF reports a list's errors keyed by index
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}"
            out.extend(_flatten(value, child))
        return out
    if isinstance(detail, list):
        if detail and all(isinstance(d, ErrorDetail) for d in detail):
            return [(path, d) for d in detail]
        out = []
        for index, value in enumerate(detail):
            if value:
                out.extend(_flatten(value, f"{path}[{index}]"))
        return out
    return [(path, ErrorDetail(str(detail), code="invalid"))]


def validation_error(detail: Any, *, prefix: str) -> ClientError:
    """One ClientError for a DRF error structure; the message names every failing field."""
    errors = _flatten(detail, prefix)
    if not errors:
        return InvalidParameterError()
    message = "; ".join(f"{path}: {error}" for path, error in errors)
    first_code = getattr(errors[0][1], "code", "invalid")
    if first_code in MISSING_CODES:
        return MandatoryParameterMissingError(message)
    return InvalidParameterError(message)


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses fields it does not declare."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors = {key: [ErrorDetail("Unknown field.", code="unknown")] for key in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            # Declared fields first (a missing one is the likelier mistake), then unknown ones.
            raise serializers.ValidationError({**exc.detail, **errors}) from exc  # type: ignore[dict-item]
        if errors:
            raise serializers.ValidationError(errors)
        return value


ID_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"  # no control characters (Unicode Cc)
ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": ID_PATTERN}


@extend_schema_field(ID_SCHEMA)
class IdField(serializers.Field):
    """An identifier: a non-empty string of at most 256 characters, no control characters."""

    default_error_messages = {
        "type": "Must be a string.",
        "blank": "Must not be empty.",
        "length": f"Must be at most {MAX_ID_LENGTH} characters.",
        "control": "Must not contain control characters.",
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("type")
        if not data:
            self.fail("blank")
        if len(data) > MAX_ID_LENGTH:
            self.fail("length")
        if any(unicodedata.category(ch) == "Cc" for ch in data):
            self.fail("control")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


_ID_FIELD = IdField()


@extend_schema_field(OpenApiTypes.STR)
class TextField(serializers.Field):
    """Free text (a name, a description): a string, bounded in length."""

    default_error_messages = {
        "type": "Must be a string.",
        "length": "Must be at most {max} characters.",
    }

    def __init__(self, *, max_length: int = 2000, **kwargs: Any) -> None:
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("type")
        if len(data) > self.max_length:
            self.fail("length", max=self.max_length)
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanField(serializers.Field):
    default_error_messages = {"type": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("type")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """A JSON number (not a string, not a boolean) within [min_value, max_value]."""

    default_error_messages = {
        "type": "Must be a number.",
        "range": "Must be between {min} and {max}.",
    }

    def __init__(
        self, *, min_value: float = 0, max_value: float = float("inf"), **kwargs: Any
    ) -> None:
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("type")
        if not self.min_value <= data <= self.max_value:
            self.fail("range", min=self.min_value, max=self.max_value)
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 0})
class EpochMillisField(serializers.Field):
    """A point in time as epoch milliseconds: any past instant, at most the clock skew ahead."""

    default_error_messages = {
        "type": "Must be an integer (epoch milliseconds).",
        "negative": "Must not be negative.",
        "future": "Lies more than {skew} seconds in the future.",
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("type")
        if data < 0:
            self.fail("negative")
        skew = settings.VIEWER_MAX_CLOCK_SKEW_SECONDS
        latest = timeutil.now() + timedelta(seconds=skew)
        if data > timeutil.to_ms(latest):  # type: ignore[operator]
            self.fail("future", skew=skew)
        return timeutil.from_ms(data)

    def to_representation(self, value: Any) -> Any:
        return timeutil.to_ms(value)


@extend_schema_field({"type": "object", "additionalProperties": True})
class JsonObjectField(serializers.Field):
    default_error_messages = {"type": "Must be a JSON object."}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("type")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "oneOf": [
            ID_SCHEMA,
            {
                "type": "array",
                "items": ID_SCHEMA,
                "minItems": 1,
                "maxItems": 1000,
            },
        ]
    }
)
class IdOrIdListField(serializers.Field):
    """One id, or a non-empty list of distinct ids (at most 1000); always returned as a list."""

    max_items = 1000
    default_error_messages = {
        "type": "Must be a string or a list of strings.",
        "empty": "Must not be an empty list.",
        "size": "Must list at most {max} ids.",
    }

    def to_internal_value(self, data: Any) -> list[str]:
        items = [data] if isinstance(data, str) else data
        if not isinstance(items, list):
            self.fail("type")
        if not items:
            self.fail("empty")
        if len(items) > self.max_items:
            self.fail("size", max=self.max_items)
        errors: dict[int, Any] = {}
        for index, item in enumerate(items):
            try:
                _ID_FIELD.to_internal_value(item)
            except serializers.ValidationError as exc:
                errors[index] = exc.detail
        if errors:
            raise serializers.ValidationError(
                [errors.get(i, []) for i in range(len(items))] if len(items) > 1 else errors[0]
            )
        return list(dict.fromkeys(items))

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "type": "string",
        "description": "ISO-8601 date (`2026-08-01`) or datetime (`2026-08-01T10:00:00Z`), UTC "
        "when no offset is given.",
    }
)
class DateOrDateTimeField(serializers.Field):
    """An ISO-8601 date or datetime. A bare date means the start of that day (UTC), or its last
    instant with ``end_of_day=True`` (an end date includes its whole day)."""

    default_error_messages = {"invalid": "Must be an ISO-8601 date or datetime."}

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not 10 <= len(data) <= 40:
            self.fail("invalid")
        try:
            if len(data) == 10:
                day = date.fromisoformat(data)
                return day_end(day) if self.end_of_day else day_start(day)
            value = datetime.fromisoformat(data)
        except ValueError:
            self.fail("invalid")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return timeutil.truncate_ms(value.astimezone(UTC))

    def to_representation(self, value: Any) -> Any:
        return timeutil.iso(value)
