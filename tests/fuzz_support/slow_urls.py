"""The application's URLconf plus ``GET /slow``, a request that takes a while: it touches the
file named by ``VIEWER_TEST_SLOW_MARKER`` when it starts (so a test knows it is in flight)."""

import os
import time
from pathlib import Path

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from config import urls
from viewer.apis import PublicApi

SLOW_SECONDS = 2.0


class SlowApi(PublicApi):
    api_id = "api.slow"

    def get(self, request: Request) -> Response:
        Path(os.environ["VIEWER_TEST_SLOW_MARKER"]).touch()
        time.sleep(SLOW_SECONDS)
        return self.respond(request, {"slept": SLOW_SECONDS})


urlpatterns = [*urls.urlpatterns, path("slow", SlowApi.as_view())]
handler400 = urls.handler400
handler404 = urls.handler404
handler500 = urls.handler500
