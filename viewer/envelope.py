"""The Sunbird envelope every response is wrapped in, success or error (DESIGN.md §4)."""

import uuid
from typing import Any

from django.http import HttpRequest

from . import timeutil

API_VERSION = "v1"
# The attribute on the Django request that carries the envelope's ``params.msgid``.
MSGID_ATTR = "viewer_msgid"


def request_msgid(request: HttpRequest | None) -> str:
    """The client's ``params.msgid`` when the body had one, else a fresh id (kept per request)."""
    if request is None:
        return str(uuid.uuid4())
    msgid = getattr(request, MSGID_ATTR, None)
    if msgid is None:
        msgid = str(uuid.uuid4())
        setattr(request, MSGID_ATTR, msgid)
    return msgid


def build(
    *,
    api_id: str,
    request: HttpRequest | None,
    result: Any,
    err: str | None = None,
    errmsg: str | None = None,
    response_code: str = "OK",
) -> dict[str, Any]:
    return {
        "id": api_id,
        "ver": API_VERSION,
        "ts": timeutil.envelope_ts(timeutil.now()),
        "params": {
            "resmsgid": str(uuid.uuid4()),
            "msgid": request_msgid(request),
            "err": err,
            "status": "failed" if err else "success",
            "errmsg": errmsg,
        },
        "responseCode": response_code,
        "result": result,
    }
