from django.urls import path

from . import apis

urlpatterns = [
    path("v1/enrol", apis.EnrolApi.as_view(), name="enrol"),
    path("v1/unenrol", apis.UnenrolApi.as_view(), name="unenrol"),
    path("v1/summary/list/<str:user_id>", apis.SummaryListApi.as_view(), name="summary-list"),
    path("v1/summary/read", apis.SummaryReadApi.as_view(), name="summary-read"),
    path("v1/summary/delete/<str:user_id>", apis.SummaryDeleteApi.as_view(), name="summary-delete"),
    path(
        "v1/summary/download/<str:user_id>",
        apis.SummaryDownloadApi.as_view(),
        name="summary-download",
    ),
    path(
        "v1/summary/file/<str:token>/<str:filename>",
        apis.SummaryFileApi.as_view(),
        name="summary-file",
    ),
]
