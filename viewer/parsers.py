"""A JSON parser that bounds the body size and refuses what strict JSON refuses."""

import json
from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from .errors import InvalidJsonError, RequestTooLargeError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        """Raises: RequestTooLargeError, InvalidJsonError."""
        limit: int = settings.VIEWER_MAX_BODY_BYTES
        # Read one byte past the limit: a chunked body without Content-Length is bounded too.
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidJsonError(f"The request body is not valid JSON: {exc}.") from exc
