"""Kernel endpoints: health, readiness, metrics, and the catalogue (collections, contexts)."""

import time
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from . import envelope, metrics, schema, storage, timeutil
from .api import EnvelopeApi
from .auth import ROLE_ADMIN, ROLES, Principal
from .catalogue import Collection, Context, nodes_to_json
from .selectors import collection_get, context_get
from .serializers import CollectionInputSerializer, ContextInputSerializer
from .services import collection_put, context_put

_COLLECTION_RESULT = {
    "type": "object",
    "properties": {
        "collection": {
            "type": "object",
            "properties": {
                "identifier": {"type": "string"},
                "name": {"type": "string"},
                "description": {"type": "string"},
                "logo": {"type": "string"},
                "children": {"type": "array", "items": {"type": "object"}},
                "leafNodes": {"type": "array", "items": {"type": "string"}},
                "leafNodesCount": {"type": "integer"},
                "optionalNodes": {"type": "array", "items": {"type": "string"}},
                "units": {"type": "array", "items": {"type": "string"}},
                "createdOn": {"type": "integer", "nullable": True},
                "lastUpdatedOn": {"type": "integer", "nullable": True},
            },
        }
    },
}

_CONTEXT_RESULT = {
    "type": "object",
    "properties": {
        "context": {
            "type": "object",
            "properties": {
                "identifier": {"type": "string"},
                "type": {"type": "string"},
                "name": {"type": "string"},
                "collectionIds": {"type": "array", "items": {"type": "string"}},
                "startDate": {"type": "string"},
                "endDate": {"type": "string", "nullable": True},
                "enrollmentEndDate": {"type": "string", "nullable": True},
                "createdOn": {"type": "integer", "nullable": True},
                "lastUpdatedOn": {"type": "integer", "nullable": True},
            },
        }
    },
}


def collection_json(collection: Collection) -> dict[str, Any]:
    return {
        "identifier": collection.identifier,
        "name": collection.name,
        "description": collection.description,
        "logo": collection.logo,
        "children": nodes_to_json(collection.children),
        "leafNodes": collection.leaves,
        "leafNodesCount": len(collection.leaves),
        "optionalNodes": collection.optional_leaves,
        "units": collection.units,
        "createdOn": timeutil.to_ms(collection.created_at),
        "lastUpdatedOn": timeutil.to_ms(collection.updated_at),
    }


def context_json(context: Context) -> dict[str, Any]:
    return {
        "identifier": context.identifier,
        "type": context.type,
        "name": context.name,
        "collectionIds": list(context.collection_ids),
        "startDate": timeutil.iso(context.start_date),
        "endDate": timeutil.iso(context.end_date),
        "enrollmentEndDate": timeutil.iso(context.enrollment_end_date),
        "createdOn": timeutil.to_ms(context.created_at),
        "lastUpdatedOn": timeutil.to_ms(context.updated_at),
    }


class CollectionApi(EnvelopeApi):
    api_id = "api.collection"
    required_roles = {"PUT": ROLE_ADMIN}
    InputSerializer = CollectionInputSerializer

    @schema.envelope(
        "CollectionGet",
        result=_COLLECTION_RESULT,
        errors=(400, 404, 405, 500, 503),
        summary="Read a collection and its hierarchy",
    )
    def get(self, request: Request, identifier: str) -> Response:
        collection = collection_get(identifier=self.path_id("identifier", identifier))
        return self.respond(request, {"collection": collection_json(collection)})

    @schema.envelope(
        "CollectionPut",
        request=CollectionInputSerializer,
        result=_COLLECTION_RESULT,
        summary="Create or replace a collection",
        description="Nodes with children are units, nodes without are leaves; a leaf (or a "
        "unit's leaves) marked `optional` does not count towards completion.",
    )
    def put(self, request: Request, identifier: str) -> Response:
        identifier = self.path_id("identifier", identifier)
        data = self.parse(request, self.InputSerializer, context={"collection_id": identifier})
        collection = collection_put(identifier=identifier, data=data)
        return self.respond(request, {"collection": collection_json(collection)})


class ContextApi(EnvelopeApi):
    api_id = "api.context"
    required_roles = {"PUT": ROLE_ADMIN}
    InputSerializer = ContextInputSerializer

    @schema.envelope(
        "ContextGet",
        result=_CONTEXT_RESULT,
        errors=(400, 404, 405, 500, 503),
        summary="Read a context (batch, program, program batch, event)",
    )
    def get(self, request: Request, identifier: str) -> Response:
        context = context_get(identifier=self.path_id("identifier", identifier))
        return self.respond(request, {"context": context_json(context)})

    @schema.envelope(
        "ContextPut",
        request=ContextInputSerializer,
        result=_CONTEXT_RESULT,
        summary="Create or replace a context",
        description="Dates are ISO-8601 (UTC when no offset is given); an end date without a "
        "time includes its whole day.",
    )
    def put(self, request: Request, identifier: str) -> Response:
        identifier = self.path_id("identifier", identifier)
        context = context_put(identifier=identifier, data=self.parse(request, self.InputSerializer))
        return self.respond(request, {"context": context_json(context)})


class PublicApi(EnvelopeApi):
    """Answers anyone: no token, no throttling (probes must always get through)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = [AllowAny]
    throttle_classes: list[Any] = []


class HealthApi(PublicApi):
    api_id = "api.health"

    @schema.envelope(
        "Health",
        result={"type": "object", "properties": {"healthy": {"type": "boolean"}}},
        errors=(405, 500),
        public=True,
        summary="Liveness: the process answers",
    )
    def get(self, request: Request) -> Response:
        return self.respond(request, {"healthy": True})


def _check(name: str, probe: Any) -> dict[str, Any]:
    started = time.perf_counter()
    detail: str | None = None
    try:
        probe()
    except Exception as exc:  # a readiness probe reports every failure, whatever its kind
        state, detail = "down", type(exc).__name__
    else:
        state, detail = "up", None
    return {
        "name": name,
        "status": state,
        "latencyMs": round((time.perf_counter() - started) * 1000, 2),
        "error": detail,
    }


_READY_RESULT = {
    "type": "object",
    "properties": {
        "ready": {"type": "boolean"},
        "checks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "status": {"type": "string", "enum": ["up", "down"]},
                    "latencyMs": {"type": "number"},
                    "error": {"type": "string", "nullable": True},
                },
            },
        },
    },
}


class ReadyApi(PublicApi):
    api_id = "api.ready"

    @schema.envelope(
        "Ready",
        result=_READY_RESULT,
        errors=(405, 500, 503),
        public=True,
        summary="Readiness: every dependency the configuration uses answers",
        description="503 (`SERVICE_UNAVAILABLE`, the checks in `result`) when one is down.",
    )
    def get(self, request: Request) -> Response:
        checks = [_check(name, probe) for name, probe in storage.readiness_probes().items()]
        ready = all(check["status"] == "up" for check in checks)
        result = {"ready": ready, "checks": checks}
        if ready:
            return self.respond(request, result)
        payload = envelope.build(
            api_id=self.api_id,
            request=request._request,
            result=result,
            err="SERVICE_UNAVAILABLE",
            errmsg="A dependency is down: "
            + ", ".join(c["name"] for c in checks if c["status"] == "down")
            + ".",
            response_code="SERVICE_UNAVAILABLE",
        )
        return Response(payload, status=503)


class MetricsAccess(BasePermission):
    """A service or admin token, unless VIEWER_METRICS_PUBLIC (the local settings' default)."""

    message = "Metrics need the service or admin role."

    def has_permission(self, request: Request, view: Any) -> bool:
        if settings.VIEWER_METRICS_PUBLIC:
            return True
        principal = request.user
        return isinstance(principal, Principal) and bool(principal.roles & set(ROLES))


class MetricsApi(EnvelopeApi):
    """Prometheus text format (not the envelope) on success; 401/403 in the envelope."""

    api_id = "api.metrics"
    permission_classes = [MetricsAccess]

    def get_authenticators(self) -> list[Any]:
        return [] if settings.VIEWER_METRICS_PUBLIC else super().get_authenticators()

    @extend_schema(
        operation_id="metrics",
        summary="Prometheus metrics of every process of this instance",
        description="The Prometheus text exposition format. Needs a token with the `service` or "
        "`admin` role unless `VIEWER_METRICS_PUBLIC=true`; errors answer in the envelope.",
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            **{
                (code, "application/json"): schema.ERROR_ENVELOPE
                for code in (401, 403, 405, 429, 500)
            },
        },
    )
    def get(self, request: Request) -> HttpResponse:
        body, content_type = metrics.exposition()
        return HttpResponse(body, content_type=content_type)
