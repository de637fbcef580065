"""Structured logs: one line per request and per task, each with the request id that links them.

``VIEWER_LOG_FORMAT=json`` writes one JSON object per line (``JsonFormatter``), ``text`` a
readable line with the same fields as ``key=value`` (``TextFormatter``). Fields of a line come
from ``extra={"fields": {...}}``; every line also carries the current request id
(``RequestContextFilter``): the request's, or - in a Celery task - the one of the request that
scheduled it, carried in the task message's headers (``viewer_request_id``).

What never reaches a line: tokens, secrets, request bodies, raw user ids (a keyed hash,
``user_ref``, stands in for them) and URL paths (they may hold a user id: the route name does).
"""

import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .envelope import MSGID_ATTR

logger_requests = logging.getLogger("viewer.request")
logger_tasks = logging.getLogger("viewer.task")

# A request id must be a plain token: anything else is replaced by a generated one.
SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
TASK_HEADER = "viewer_request_id"
# The request being served (an HttpRequest) or, in a task, the scheduling request's id.
_current: ContextVar[Any] = ContextVar("viewer_request", default=None)
_FROM_HEADER = "_viewer_request_id_from_header"


def start_request(request: Any, incoming: str) -> str:
    """Give ``request`` its id: ``X-Request-ID`` when it is a plain token, else a generated one
    that also becomes the envelope's ``params.msgid`` unless the body names its own."""
    if SAFE_ID.match(incoming):
        request_id = incoming
        setattr(request, _FROM_HEADER, True)
    else:
        request_id = uuid.uuid4().hex
        setattr(request, MSGID_ATTR, request_id)
    request.request_id = request_id
    return request_id


def request_id_of(request: Any) -> str:
    """``X-Request-ID``; else the body's ``params.msgid`` when it is a plain token; else the
    generated id."""
    request_id: str = request.request_id
    if not request.__dict__.get(_FROM_HEADER):
        msgid = request.__dict__.get(MSGID_ATTR)
        if msgid is not request_id and isinstance(msgid, str) and SAFE_ID.match(msgid):
            return msgid
    return request_id


def current_request_id() -> str | None:
    value = _current.get()
    if value is None or isinstance(value, str):
        return value
    return request_id_of(value)


def bind(value: Any) -> Token[Any]:
    """Make ``value`` (an HttpRequest, or a request id) the current request until ``unbind``."""
    return _current.set(value)


def unbind(token: Token[Any]) -> None:
    _current.reset(token)


def user_ref(user_id: str) -> str:
    """A stable pseudonym of a user id for logs: keyed (SECRET_KEY) so it cannot be reversed
    by hashing guessed ids."""
    from django.conf import settings

    return _keyed_hash(str(settings.SECRET_KEY), user_id)


@lru_cache(maxsize=4096)  # a user's requests come in runs; an HMAC costs a few microseconds
def _keyed_hash(key: str, user_id: str) -> str:
    return hmac.new(key.encode(), user_id.encode(), hashlib.sha256).hexdigest()[:16]


def endpoint_of(request: Any) -> str:
    """The route's name (``view-start``), never the path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return str(match.view_name or match.route or "unnamed")


def request_finished(request: Any, *, status: int, seconds: float) -> None:
    """Metrics and the one log line of a finished request."""
    from . import metrics
    from .auth import Principal

    endpoint = endpoint_of(request)
    metrics.observe_request(
        endpoint=endpoint, method=request.method or "", status=status, seconds=seconds
    )
    if not logger_requests.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {
        "endpoint": endpoint,
        "method": request.method,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    # DRF puts the authenticated principal on the request; Django's lazy user is not touched.
    principal = request.__dict__.get("user")
    if type(principal) is Principal:
        fields["user"] = user_ref(principal.user_id)
    logger_requests.info("request", extra={"fields": fields})


# --- Celery: the request id into the messages a request publishes, and one line per task.

_running: dict[str, tuple[float, Token[Any] | None]] = {}


def on_before_task_publish(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = current_request_id()
    if request_id is not None and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def on_task_prerun(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    # An eager task runs inside the request: it keeps the request's id. A worker's task takes
    # the id from its message's headers.
    request_id = getattr(getattr(task, "request", None), TASK_HEADER, None)
    token = _current.set(request_id) if isinstance(request_id, str) else None
    _running[task_id] = (time.perf_counter(), token)


def on_task_postrun(
    task_id: str = "", task: Any = None, state: str | None = None, **kw: Any
) -> None:
    from . import metrics

    started, token = _running.pop(task_id, (None, None))
    seconds = 0.0 if started is None else time.perf_counter() - started
    name = str(getattr(task, "name", "unknown"))
    # No state: an eager task raised into its caller (a retry or a failure).
    outcome = state.lower() if state else "error"
    metrics.child(metrics.TASK_SECONDS, name, outcome).observe(seconds)
    try:
        request = getattr(task, "request", None)
        logger_tasks.info(
            "task",
            extra={
                "fields": {
                    "task": name,
                    "task_id": task_id,
                    "outcome": outcome,
                    "duration_ms": round(seconds * 1000, 2),
                    "retries": int(getattr(request, "retries", 0) or 0),
                    "eager": bool(getattr(request, "is_eager", False)),
                }
            },
        )
    finally:
        if token is not None:
            _current.reset(token)


# --- Formatting.


class RequestContextFilter(logging.Filter):
    """Stamps every record with the current request id, and keeps paths (which may hold a user
    id) out of Django's own ``django.request`` lines: the route name stands in."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        request = getattr(record, "request", None)
        if record.name == "django.request" and request is not None and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = (*args[:-1], endpoint_of(request))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, the record's
    ``fields``, and ``exc`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger> [<request id>] <message> key=value ...``."""

    def __init__(self, fmt: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            fmt or "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            *args,
            **kwargs,
        )

    def formatMessage(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        text = super().formatMessage(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            text += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return text
