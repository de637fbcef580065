"""URL map. Every API answers in the Sunbird envelope, including unknown URLs and crashes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("viewer.urls")),
    path("", include("consumption.urls")),
    path("", include("assessments.urls")),
    path("", include("summaries.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
]

handler400 = "viewer.exceptions.handler400"
handler404 = "viewer.exceptions.handler404"
handler500 = "viewer.exceptions.handler500"
