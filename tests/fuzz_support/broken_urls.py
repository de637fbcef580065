"""The application's URLconf plus two broken endpoints, for the tests that prove the fuzzing
checks fail: one crashes (500, in the envelope), one answers an error outside the envelope."""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from config import urls
from viewer import schema
from viewer.apis import PublicApi


class CrashApi(PublicApi):
    api_id = "api.broken.crash"

    @schema.envelope("BrokenCrash", result={"type": "object"}, errors=(500,), public=True)
    def get(self, request: Request) -> Response:
        raise RuntimeError("a bug")


class BareErrorApi(PublicApi):
    api_id = "api.broken.bare"

    @schema.envelope("BrokenBare", result={"type": "object"}, errors=(400,), public=True)
    def get(self, request: Request) -> Response:
        return Response({"detail": "no envelope"}, status=400)


urlpatterns = [
    *urls.urlpatterns,
    path("v1/broken/crash", CrashApi.as_view()),
    path("v1/broken/bare", BareErrorApi.as_view()),
]

handler400 = urls.handler400
handler404 = urls.handler404
handler500 = urls.handler500
