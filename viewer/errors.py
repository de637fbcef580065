"""The ``ViewerError`` hierarchy: every failure a client can see, with a stable code.

The code goes to ``params.err``, the message to ``params.errmsg``; ``response_code`` and
``http_status`` to the envelope's ``responseCode`` and the HTTP status. Clients match on codes,
so a code, once published, never changes its spelling or meaning.
"""

from typing import ClassVar


class ViewerError(Exception):
    code: ClassVar[str] = "SERVER_ERROR"
    http_status: ClassVar[int] = 500
    response_code: ClassVar[str] = "SERVER_ERROR"
    default_message: ClassVar[str] = "The request could not be processed; please try again later."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class ClientError(ViewerError):
    code = "INVALID_PARAMETER"
    http_status = 400
    response_code = "CLIENT_ERROR"
    default_message = "The request is invalid."


class InvalidParameterError(ClientError):
    code = "INVALID_PARAMETER"


class MandatoryParameterMissingError(ClientError):
    code = "MANDATORY_PARAMETER_MISSING"


class InvalidJsonError(ClientError):
    code = "INVALID_JSON"
    default_message = "The request body is not valid JSON."


class RequestTooLargeError(ClientError):
    code = "REQUEST_TOO_LARGE"


class ViewNotStartedError(ClientError):
    code = "VIEW_NOT_STARTED"
    default_message = "The view was not started: call /v1/view/start first."


class MethodNotAllowedError(ClientError):
    code = "METHOD_NOT_ALLOWED"
    http_status = 405


class UnsupportedMediaTypeError(ClientError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415
    default_message = "The request body must be JSON (Content-Type: application/json)."


class UnauthorizedError(ViewerError):
    code = "UNAUTHORIZED"
    http_status = 401
    response_code = "UNAUTHORIZED"
    default_message = "Authentication is required."


class ForbiddenError(ViewerError):
    code = "FORBIDDEN"
    http_status = 403
    response_code = "FORBIDDEN"
    default_message = "You are not allowed to perform this action."


class NotFoundError(ViewerError):
    code = "RESOURCE_NOT_FOUND"
    http_status = 404
    response_code = "RESOURCE_NOT_FOUND"
    default_message = "The requested resource was not found."


class ThrottledError(ViewerError):
    code = "TOO_MANY_REQUESTS"
    http_status = 429
    response_code = "CLIENT_ERROR"
    default_message = "Too many requests; slow down."


class StoreUnavailableError(ViewerError):
    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    response_code = "SERVICE_UNAVAILABLE"
    default_message = "A data store is unavailable; nothing was written. Retry later."


class ServerError(ViewerError):
    code = "SERVER_ERROR"


# Enrolment rules keep the course service's codes: clients match on them.
class InvalidContextError(ClientError):
    code = "INVALID_COURSE_BATCH_ID"
    default_message = "Invalid context id."


class ContextCompletedError(ClientError):
    code = "COURSE_BATCH_ALREADY_COMPLETED"
    default_message = "The context has already ended."


class EnrolmentEndedError(ClientError):
    code = "COURSE_BATCH_ENROLLMENT_DATE_ENDED"
    default_message = "The context's enrolment end date has passed."


class AlreadyEnrolledError(ClientError):
    code = "USER_ALREADY_ENROLLED_COURSE"
    default_message = "The user is already enrolled in this collection and context."


class NotEnrolledError(ClientError):
    code = "USER_NOT_ENROLLED_COURSE"
    default_message = "The user is not enrolled in this collection and context."


def _all_error_classes() -> list[type[ViewerError]]:
    seen: list[type[ViewerError]] = []
    pending: list[type[ViewerError]] = [ViewerError]
    while pending:
        cls = pending.pop(0)
        if cls not in seen:
            seen.append(cls)
            pending.extend(cls.__subclasses__())
    return seen


def error_catalogue() -> dict[str, tuple[int, str, str]]:
    """Every published error code -> (HTTP status, responseCode, default message)."""
    return {
        cls.code: (cls.http_status, cls.response_code, cls.default_message)
        for cls in _all_error_classes()
    }


ERROR_CODE_CHOICES = sorted(error_catalogue())
RESPONSE_CODE_CHOICES = sorted(
    {response_code for _, response_code, _ in error_catalogue().values()}
)
