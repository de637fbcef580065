"""The service's URLs plus ``POST /bench/bare``, the reference the service is compared with.

The bare endpoint goes through the same middleware, parser (``BoundedJSONParser``) and renderer
(``JSONRenderer``) as the service, reads ``request.data`` and answers a small envelope-shaped
dict: what any DRF POST endpoint costs before it does any work of its own.
"""

from typing import Any

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as service_urls


class BareApi(APIView):
    def post(self, request: Request) -> Response:
        body: Any = request.data
        msgid = body.get("params", {}).get("msgid") if isinstance(body, dict) else None
        return Response(
            {
                "id": "api.bench.bare",
                "ver": "v1",
                "ts": "2026-01-01 00:00:00:000+0000",
                "params": {
                    "resmsgid": "00000000-0000-4000-8000-000000000000",
                    "msgid": msgid,
                    "err": None,
                    "status": "success",
                    "errmsg": None,
                },
                "responseCode": "OK",
                "result": {"bare": "ok"},
            }
        )


urlpatterns = [
    path("bench/bare", BareApi.as_view(), name="bench-bare"),
    path("", include(service_urls)),
]

handler400 = service_urls.handler400
handler404 = service_urls.handler404
handler500 = service_urls.handler500
