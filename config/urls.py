"""URL map. Every API answers in the Sunbird envelope, including unknown URLs and crashes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from viewer.apis import MetricsApi

# The API description is public, like /health and /ready.
PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny], "throttle_classes": []}

urlpatterns = [
    path("", include("viewer.urls")),
    path("", include("consumption.urls")),
    path("", include("assessments.urls")),
    path("", include("summaries.urls")),
    path("", include("legacy.urls")),
    path("metrics", MetricsApi.as_view(), name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(**PUBLIC), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", **PUBLIC), name="docs"),
    path("admin/", admin.site.urls),
]

handler400 = "viewer.exceptions.handler400"
handler404 = "viewer.exceptions.handler404"
handler500 = "viewer.exceptions.handler500"
