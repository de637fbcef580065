"""The one exception handler: every error, ours or the framework's, leaves in the envelope."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from kombu.exceptions import OperationalError as BrokerUnavailableError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from . import envelope
from .errors import (
    ClientError,
    ForbiddenError,
    InvalidJsonError,
    MethodNotAllowedError,
    NotFoundError,
    RequestTooLargeError,
    ServerError,
    StoreUnavailableError,
    ThrottledError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ViewerError,
)
from .validation import validation_error

# Redis (coordination) or the Celery broker unreachable past the clients' retries.
COORDINATION_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, BrokerUnavailableError)

logger = logging.getLogger(__name__)

GENERIC_API_ID = "api.viewer"


def to_viewer_error(exc: Exception) -> ViewerError:
    """Map any exception to the ViewerError the client sees."""
    if isinstance(exc, ViewerError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLargeError(
            f"The request body exceeds the limit of {settings.VIEWER_MAX_BODY_BYTES} bytes."
        )
    if isinstance(exc, SuspiciousOperation):
        return ClientError(str(exc))
    if isinstance(exc, drf.ValidationError):
        return validation_error(exc.detail, prefix="request")
    if isinstance(exc, drf.ParseError):
        return InvalidJsonError(str(exc.detail))
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return UnauthorizedError(str(exc.detail))
    if isinstance(exc, drf.PermissionDenied):
        return ForbiddenError(str(exc.detail))
    if isinstance(exc, drf.NotFound | Http404):
        return NotFoundError()
    if isinstance(exc, drf.MethodNotAllowed):
        return MethodNotAllowedError(str(exc.detail))
    if isinstance(exc, drf.UnsupportedMediaType):
        return UnsupportedMediaTypeError(
            f"{exc.detail} The request body must be JSON (Content-Type: application/json)."
        )
    if isinstance(exc, drf.Throttled):
        return ThrottledError(str(exc.detail))
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("store unavailable: %s", type(exc).__name__)
        return StoreUnavailableError()
    if isinstance(exc, COORDINATION_UNAVAILABLE):
        logger.warning("redis or broker unavailable: %s", type(exc).__name__)
        return StoreUnavailableError()
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
        return ServerError()
    logger.exception("unhandled error")
    return ServerError()


def error_payload(err: ViewerError, *, api_id: str, request: HttpRequest | None) -> dict[str, Any]:
    return envelope.build(
        api_id=api_id,
        request=request,
        result={},
        err=err.code,
        errmsg=err.message,
        response_code=err.response_code,
    )


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    err = to_viewer_error(exc)
    view = context.get("view")
    request = context.get("request")
    django_request = getattr(request, "_request", None)
    set_rollback()
    response = Response(
        error_payload(err, api_id=getattr(view, "api_id", GENERIC_API_ID), request=django_request),
        status=err.http_status,
    )
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        response["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if isinstance(exc, drf.Throttled) and wait is not None:
        response["Retry-After"] = str(int(wait))
    return response


def _django_error(request: HttpRequest, err: ViewerError) -> JsonResponse:
    return JsonResponse(
        error_payload(err, api_id=GENERIC_API_ID, request=request), status=err.http_status
    )


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _django_error(request, to_viewer_error(exception or SuspiciousOperation()))


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _django_error(request, NotFoundError(f"No endpoint at {request.path}."))


def handler500(request: HttpRequest) -> JsonResponse:
    return _django_error(request, ServerError())
