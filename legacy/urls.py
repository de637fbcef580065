from django.urls import path

from . import apis

urlpatterns = [
    path(
        "v1/content/state/update",
        apis.ContentStateUpdateApi.as_view(),
        name="legacy-content-state-update",
    ),
    path(
        "v1/content/state/read",
        apis.ContentStateReadApi.as_view(),
        name="legacy-content-state-read",
    ),
    path(
        "v1/user/enrollment/list/<str:user_id>",
        apis.EnrolmentListApi.as_view(),
        name="legacy-enrolment-list",
    ),
]
