"""The course service's error codes, spelled as it spells them (typos included): legacy clients
match on them. Each message is the course service's, prefixed with the field at fault."""

from viewer import errors
from viewer.errors import ClientError


class CourseIdRequiredError(ClientError):
    code = "COURSE_ID_REQUIRED_ERROR"
    default_message = "Please provide course id."


class ContentIdRequiredError(ClientError):
    code = "CONTENT_ID_REQUIRED_ERROR"
    default_message = "Please provide content id."


class ContentStatusMissingError(ClientError):
    code = "CONTENT_STATUS_MISSING_ERROR"
    default_message = "content status is required ."


class DateFormatError(ClientError):
    code = "DATE_FORMAT_ERRROR"  # sic: the course service's spelling
    default_message = "Date format error."


class AttemptedDateRequiredError(ClientError):
    code = "ATTEMPTED_DATE_REQUIRED"
    default_message = "Attempted data is required."


class CourseBatchIdMissingError(ClientError):
    code = "COURSE_BATCH_ID_MISSING"
    default_message = "Course batch Id required"


class UserIdMissingError(ClientError):
    code = "USERID_MISSING"
    default_message = "UserId is mandatory."


class AttemptIdRequiredError(ClientError):
    code = "ATTEMPT_ID_REQUIRED_ERROR"
    default_message = "Please provide attempt id."


class EventsDataMissingError(ClientError):
    code = "EVENTS_DATA_MISSING"
    default_message = "Events array is mandatory"


class InvalidRequestedDataError(ClientError):
    code = "INVALID_REQUESTED_DATA"
    default_message = "Requested data for this operation is not valid."


def at_field(cls: type[ClientError], path: str, message: str | None = None) -> ClientError:
    """``cls`` with its (course service) message, naming the field: ``<path>: <message>``."""
    return cls(f"{path}: {message or cls.default_message}")


# viewer.errors computes the published code list once, when it is first imported (before this
# module): add ours to it in place, so that the OpenAPI error enum and table list them too.
errors.ERROR_CODE_CHOICES[:] = sorted(errors.error_catalogue())
