"""Request ids, request metrics and the one log line per request.

The request id is ``X-Request-ID`` from the caller when it is a plain token, else the body's
``params.msgid`` when that is one, else a generated id (which then is also the envelope's
``params.msgid``); it is echoed in the response's ``X-Request-ID``, stamped on every log line
of the request and carried into the tasks the request schedules (``viewer.logs``).
"""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import logs


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        # An id that is not a plain token is replaced, so nothing odd reaches headers or logs.
        logs.start_request(request, request.headers.get("X-Request-ID", ""))
        token = logs.bind(request)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = logs.request_id_of(request)
            logs.request_finished(
                request, status=response.status_code, seconds=time.perf_counter() - started
            )
            return response
        finally:
            logs.unbind(token)
