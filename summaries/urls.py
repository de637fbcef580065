from django.urls import path

from . import apis

urlpatterns = [
    path("v1/enrol", apis.EnrolApi.as_view(), name="enrol"),
    path("v1/unenrol", apis.UnenrolApi.as_view(), name="unenrol"),
]
