"""The base of every API view: parse the request envelope, answer in the response envelope.

Views stay thin: ``body = self.parse(request, self.InputSerializer)``, call one service or
selector, ``return self.respond(request, result)``. Errors are raised, never caught here: the one
exception handler (``viewer.exceptions``) renders them.
"""

import threading
from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import envelope
from .auth import Principal
from .errors import ForbiddenError, InvalidParameterError, MandatoryParameterMissingError
from .validation import MAX_ID_LENGTH, IdField, validation_error

ENVELOPE_FIELDS = frozenset({"id", "ver", "ts", "params", "request"})
ENVELOPE_STRING_FIELDS = ("id", "ver", "ts")
_SERIALIZER_STATE = ("_validated_data", "_errors", "_data")
_local = threading.local()


def bound_serializer(
    serializer_class: type[serializers.Serializer], data: Any, context: dict[str, Any]
) -> serializers.Serializer:
    """A serializer of ``serializer_class`` bound to ``data``.

    One instance per class and thread is reused: building a serializer deep-copies every
    declared field, which cost more than the rest of the validation. Our fields keep no state
    between calls, and the instance's per-call state is reset here.
    """
    cache: dict[type, serializers.Serializer] = _local.__dict__.setdefault("serializers", {})
    serializer = cache.get(serializer_class)
    if serializer is None:
        serializer = cache[serializer_class] = serializer_class()
    for attr in _SERIALIZER_STATE:
        serializer.__dict__.pop(attr, None)
    serializer.initial_data = data
    serializer._context = context
    return serializer


class EnvelopeApi(APIView):
    api_id: ClassVar[str] = "api.viewer"
    # HTTP method -> role it needs (besides being authenticated).
    required_roles: ClassVar[dict[str, str]] = {}

    def check_permissions(self, request: Request) -> None:
        # Throttle first, so that unauthenticated floods are limited (per IP) too: DRF would
        # refuse them as 401 before it ever counted them.
        super().check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request: Request) -> None:
        """Done in ``check_permissions``."""

    def parse(
        self,
        request: Request,
        serializer_class: type[serializers.Serializer],
        context: dict[str, Any] | None = None,
    ) -> Any:
        """The validated ``request`` object of the body.

        Raises: InvalidJsonError, RequestTooLargeError, InvalidParameterError,
        MandatoryParameterMissingError.
        """
        body = request.data
        if not isinstance(body, dict):
            raise InvalidParameterError(
                'body: Must be a JSON object of the form {"request": {...}}.'
            )
        self._take_msgid(request, body.get("params"))
        unknown = sorted(set(body) - ENVELOPE_FIELDS)
        if unknown:
            raise InvalidParameterError("; ".join(f"{key}: Unknown field." for key in unknown))
        for key in ENVELOPE_STRING_FIELDS:
            if key in body and not isinstance(body[key], str):
                raise InvalidParameterError(f"{key}: Must be a string.")
        if body.get("request") is None:
            raise MandatoryParameterMissingError("request: This field is required.")
        if not isinstance(body["request"], dict):
            raise InvalidParameterError("request: Must be a JSON object.")
        serializer = bound_serializer(serializer_class, body["request"], context or {})
        if not serializer.is_valid():
            raise validation_error(serializer.errors, prefix="request")
        data = serializer.validated_data
        if "userId" in data:
            self.check_user(request, data["userId"])
        return data

    @staticmethod
    def check_user(request: Request, user_id: str) -> None:
        """A learner acts only on their own data; ``service`` and ``admin`` on anyone's.

        Raises: ForbiddenError (the same answer whether or not the other user has data).
        """
        principal = request.user
        if not (isinstance(principal, Principal) and principal.may_act_for(user_id)):
            raise ForbiddenError("You may only read and write your own progress.")

    @staticmethod
    def path_id(name: str, value: str) -> str:
        """An identifier taken from the URL path, validated like one in a body.

        Raises: InvalidParameterError.
        """
        try:
            return IdField().to_internal_value(value)
        except serializers.ValidationError as exc:
            raise validation_error({name: exc.detail}, prefix="path") from exc

    @staticmethod
    def _take_msgid(request: Request, params: Any) -> None:
        if params is None:
            return
        if not isinstance(params, dict):
            raise InvalidParameterError("params: Must be a JSON object.")
        msgid = params.get("msgid")
        if msgid is None:
            return
        if not isinstance(msgid, str) or not 0 < len(msgid) <= MAX_ID_LENGTH:
            raise InvalidParameterError(
                f"params.msgid: Must be a string of 1 to {MAX_ID_LENGTH} characters."
            )
        setattr(request._request, envelope.MSGID_ATTR, msgid)

    def respond(self, request: Request, result: Any, *, status: int = 200) -> Response:
        return Response(
            envelope.build(api_id=self.api_id, request=request._request, result=result),
            status=status,
        )
