from django.urls import path

from . import apis

urlpatterns = [
    path("v1/assessment/submit", apis.AssessmentSubmitApi.as_view(), name="assessment-submit"),
    path("v1/assessment/read", apis.AssessmentReadApi.as_view(), name="assessment-read"),
]
