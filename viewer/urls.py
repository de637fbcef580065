from django.urls import path

from . import apis

urlpatterns = [
    path("health", apis.HealthApi.as_view(), name="health"),
    path("ready", apis.ReadyApi.as_view(), name="ready"),
    path("v1/collection/<str:identifier>", apis.CollectionApi.as_view(), name="collection"),
    path("v1/context/<str:identifier>", apis.ContextApi.as_view(), name="context"),
]
