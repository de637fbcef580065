"""Validation of the legacy requests, in the course service's order.

The course service's own checks run first, over the raw request, in its order and with its
codes (``RequestValidator.validateUpdateContent``, ``validateGetContentState``): clients match
on those codes. Then the strict house validation (JSON types, unknown fields, id rules, dates not
in the future) answers what the course service never checked, naming the field.
"""

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from assessments.apis import MAX_EVENTS, AssessEventSerializer
from viewer import timeutil
from viewer.errors import ClientError, InvalidParameterError, MandatoryParameterMissingError
from viewer.validation import (
    EpochMillisField,
    IdField,
    JsonObjectField,
    NumberField,
    StrictSerializer,
)

from . import errors
from .dates import PATTERN, is_legacy_date, parse_legacy

MAX_CONTENTS = 1000
MAX_ASSESSMENTS = 100
# Fields older clients send that the course service accepted and did not keep.
IGNORED_CONTENT_FIELDS = frozenset({"viewCount", "completedCount", "dateTime"})


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _course_id(item: Mapping[str, Any]) -> Any:
    return item.get("courseId") if not _blank(item.get("courseId")) else item.get("collectionId")


def _check_content(item: Mapping[str, Any], path: str) -> None:
    """One ``contents[i]``, in the course service's order (dates, courseId, contentId, status).
    ``lastAccessTime``, which the course service did not check, is checked with the others."""
    for field in ("lastUpdatedTime", "lastCompletedTime", "lastAccessTime"):
        value = item.get(field)
        if value is not None and not is_legacy_date(value):
            raise errors.at_field(
                errors.DateFormatError, f"{path}.{field}", f"Date format error (use {PATTERN})."
            )
    if _blank(_course_id(item)):
        raise errors.at_field(errors.CourseIdRequiredError, f"{path}.courseId")
    if _blank(item.get("contentId")):
        raise errors.at_field(errors.ContentIdRequiredError, f"{path}.contentId")
    if item.get("status") is None:
        raise errors.at_field(errors.ContentStatusMissingError, f"{path}.status")


_ASSESSMENT_CHECKS: list[tuple[str, type[ClientError], Callable[[Mapping[str, Any]], bool]]] = [
    ("assessmentTs", errors.AttemptedDateRequiredError, lambda a: a.get("assessmentTs") is None),
    ("courseId", errors.CourseIdRequiredError, lambda a: _blank(_course_id(a))),
    ("contentId", errors.ContentIdRequiredError, lambda a: _blank(a.get("contentId"))),
    ("batchId", errors.CourseBatchIdMissingError, lambda a: _blank(a.get("batchId"))),
    ("userId", errors.UserIdMissingError, lambda a: _blank(a.get("userId"))),
    ("attemptId", errors.AttemptIdRequiredError, lambda a: _blank(a.get("attemptId"))),
    ("events", errors.EventsDataMissingError, lambda a: a.get("events") is None),
]


def check_update(data: Any) -> None:
    """The course service's checks of a content state update, first failure wins.

    Raises: the course service's ClientError for the first failing check.
    """
    if not isinstance(data, Mapping):
        return
    contents, assessments = data.get("contents"), data.get("assessments")
    for index, item in enumerate(contents if isinstance(contents, list) else []):
        if isinstance(item, Mapping):
            _check_content(item, f"request.contents[{index}]")
    for index, item in enumerate(assessments if isinstance(assessments, list) else []):
        if isinstance(item, Mapping):
            for field, error, failed in _ASSESSMENT_CHECKS:
                if failed(item):
                    raise errors.at_field(error, f"request.assessments[{index}].{field}")
    if not contents and not assessments:  # sync mode: the enrolment is named at request level
        if _blank(_course_id(data)):
            raise errors.at_field(errors.CourseIdRequiredError, "request.courseId")
        if _blank(data.get("batchId")):
            raise errors.at_field(errors.CourseBatchIdMissingError, "request.batchId")


def check_read(data: Any) -> None:
    """The course service's checks of a content state read: list fields are lists, then
    courseId (or collectionId, or courseIds[0]) and batchId are present.

    Raises: InvalidParameterError, MandatoryParameterMissingError.
    """
    if not isinstance(data, Mapping):
        return
    for field in ("courseIds", "contentIds", "fields"):
        if data.get(field) is not None and not isinstance(data[field], list):
            raise InvalidParameterError(f"request.{field}: Must be a list.")
    course_ids = data.get("courseIds") or [None]
    if _blank(_course_id(data)) and _blank(course_ids[0]):
        raise MandatoryParameterMissingError(
            "request.courseId: Mandatory parameter courseId is missing."
        )
    if _blank(data.get("batchId")):
        raise MandatoryParameterMissingError(
            "request.batchId: Mandatory parameter batchId is missing."
        )


@extend_schema_field(
    {
        "type": "string",
        "example": "2020-11-23 12:58:35:179+0000",
        "description": f"`{PATTERN}` (Java SimpleDateFormat: `Z` is an offset such as `+0530`).",
    }
)
class LegacyDateField(serializers.Field):
    """A course service date string; any past instant, at most the clock skew ahead."""

    default_error_messages = {
        "invalid": f"Must be a date as {PATTERN}.",
        "future": "Lies more than {skew} seconds in the future.",
    }

    def to_internal_value(self, data: Any) -> Any:
        try:
            value = parse_legacy(data) if isinstance(data, str) else None
        except ValueError:
            value = None
        if value is None:
            self.fail("invalid")
        skew = settings.VIEWER_MAX_CLOCK_SKEW_SECONDS
        if value > timeutil.now() + timedelta(seconds=skew):
            self.fail("future", skew=skew)
        return value

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "integer", "minimum": 0})
class StatusField(serializers.Field):
    """A content status: 0 or 1 in progress, 2 (or more, read as 2) complete."""

    default_error_messages = {"type": "Must be an integer.", "negative": "Must not be negative."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("type")
        if data < 0:
            self.fail("negative")
        return min(data, 2)

    def to_representation(self, value: Any) -> Any:
        return value


def _one_course_id(attrs: dict[str, Any]) -> dict[str, Any]:
    """``collectionId`` is an alias of ``courseId``; both given, they must agree."""
    course, collection = attrs.get("courseId"), attrs.pop("collectionId", None)
    if course is not None and collection is not None and course != collection:
        raise serializers.ValidationError(
            {"collectionId": ErrorDetail("Must equal courseId when both are given.", "invalid")}
        )
    attrs["courseId"] = course or collection
    return attrs


class ContentItemSerializer(StrictSerializer):
    contentId = IdField()
    courseId = IdField(required=False, help_text="The course (collection).")
    collectionId = IdField(required=False, help_text="Alias of courseId.")
    batchId = IdField(
        required=False,
        allow_null=True,
        help_text="The batch (context). Without it the view is recorded in the course alone.",
    )
    userId = IdField(required=False, help_text="Defaults to the request's userId.")
    status = StatusField(help_text="0/1 in progress, 2 complete (more than 2 reads as 2).")
    progress = NumberField(
        required=False, allow_null=True, max_value=100, help_text="0-100; the highest wins."
    )
    progressdetails = JsonObjectField(required=False, allow_null=True)
    lastAccessTime = LegacyDateField(required=False, allow_null=True)
    lastCompletedTime = LegacyDateField(required=False, allow_null=True)
    lastUpdatedTime = LegacyDateField(
        required=False, allow_null=True, help_text="Checked, not kept (the server's time is)."
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = {k: v for k, v in data.items() if k not in IGNORED_CONTENT_FIELDS}
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _one_course_id(attrs)


class AssessmentItemSerializer(StrictSerializer):
    contentId = IdField()
    courseId = IdField(required=False)
    collectionId = IdField(required=False, help_text="Alias of courseId.")
    batchId = IdField()
    userId = IdField()
    attemptId = IdField()
    assessmentTs = EpochMillisField()
    events: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=AssessEventSerializer(),
        max_length=MAX_EVENTS,
        help_text="ASSESS events (telemetry v3), as for /v1/assessment/submit; an empty list "
        "records no attempt and still completes the content.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _one_course_id(attrs)


class ContentStateUpdateSerializer(StrictSerializer):
    userId = IdField(required=False, help_text="Defaults to the token's user.")
    contents: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=ContentItemSerializer(), required=False, max_length=MAX_CONTENTS
    )
    assessments: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=AssessmentItemSerializer(), required=False, max_length=MAX_ASSESSMENTS
    )
    courseId = IdField(required=False, help_text="Sync mode only (no contents, no assessments).")
    collectionId = IdField(required=False, help_text="Alias of courseId.")
    batchId = IdField(required=False, help_text="Sync mode only.")

    def to_internal_value(self, data: Any) -> Any:
        check_update(data)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return _one_course_id(attrs)


class ContentStateReadSerializer(StrictSerializer):
    userId = IdField(required=False, help_text="Defaults to the token's user.")
    courseId = IdField(required=False)
    collectionId = IdField(required=False, help_text="Alias of courseId.")
    courseIds = serializers.ListField(
        child=IdField(),
        required=False,
        max_length=1000,
        help_text="Legacy: the first is used when courseId is absent.",
    )
    batchId = IdField()
    contentIds = serializers.ListField(child=IdField(), required=False, max_length=1000)
    # The metaclass moves declared fields off the class: this does not shadow Serializer.fields.
    fields = serializers.ListField(  # type: ignore[assignment]
        child=serializers.ChoiceField(choices=["progress", "score"]),
        required=False,
        max_length=10,
        help_text='`["progress"]` by default; `"score"` adds the attempts of each content.',
    )

    def to_internal_value(self, data: Any) -> Any:
        check_read(data)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        course_ids = attrs.pop("courseIds", None) or []
        attrs = _one_course_id(attrs)
        attrs["courseId"] = attrs["courseId"] or course_ids[0]
        return attrs
