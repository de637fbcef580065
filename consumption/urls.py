from django.urls import path

from . import apis

urlpatterns = [
    path("v1/view/start", apis.ViewStartApi.as_view(), name="view-start"),
    path("v1/view/update", apis.ViewUpdateApi.as_view(), name="view-update"),
    path("v1/view/end", apis.ViewEndApi.as_view(), name="view-end"),
    path("v1/view/read", apis.ViewReadApi.as_view(), name="view-read"),
    path("v1/view/explain", apis.ViewExplainApi.as_view(), name="view-explain"),
]
