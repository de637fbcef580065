"""The consumption API: /v1/view/start, /update, /end, /read."""

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from viewer import schema, timeutil
from viewer.api import EnvelopeApi
from viewer.identifiers import ViewTarget
from viewer.validation import (
    EpochMillisField,
    IdField,
    IdOrIdListField,
    JsonObjectField,
    NumberField,
    StrictSerializer,
)

from .domain import Consumption
from .selectors import view_explain, view_read
from .services import view_end, view_start, view_update

_ACK_RESULT = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "description": "`{<contentId>: <message>}`",
}


def require_collection_with_context(attrs: dict[str, Any]) -> dict[str, Any]:
    """A context is always inside a collection (MODES.md): refuse a context without one."""
    if attrs.get("contextId") and not attrs.get("collectionId"):
        raise serializers.ValidationError(
            {"collectionId": ErrorDetail("Required when contextId is given.", code="required")}
        )
    return attrs


class ViewTargetSerializer(StrictSerializer):
    userId = IdField()
    contentId = IdField()
    collectionId = IdField(required=False)
    contextId = IdField(required=False)
    ts = EpochMillisField(required=False, help_text="When it happened (epoch ms); default now.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return require_collection_with_context(attrs)


def _target(data: dict[str, Any]) -> ViewTarget:
    return ViewTarget(
        user_id=data["userId"],
        content_id=data["contentId"],
        collection_id=data.get("collectionId"),
        context_id=data.get("contextId"),
    )


class ViewStartApi(EnvelopeApi):
    api_id = "api.view.start"

    class InputSerializer(ViewTargetSerializer):
        pass

    @schema.envelope(
        "ViewStart",
        request=InputSerializer,
        result=_ACK_RESULT,
        summary="Start a view of a content",
        description="Inserts the row (status 1) only if it does not exist; answers "
        '`{"<contentId>": "Progress started"}` either way.',
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        view_start(target=_target(data), ts=data.get("ts"))
        return self.respond(request, {data["contentId"]: "Progress started"})


class ViewUpdateApi(EnvelopeApi):
    api_id = "api.view.update"

    class InputSerializer(ViewTargetSerializer):
        progressDetails = JsonObjectField(help_text="The player's state, stored as given.")
        progress = NumberField(required=False, max_value=100, help_text="0-100; the highest wins.")
        timeSpent = NumberField(required=False, help_text="Seconds; the highest wins.")

    @schema.envelope(
        "ViewUpdate",
        request=InputSerializer,
        result=_ACK_RESULT,
        summary="Record progress of a started view",
        description="Only a started view (else 400 `VIEW_NOT_STARTED`); a completed view is "
        "not changed.",
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        view_update(
            target=_target(data),
            progress_details=data["progressDetails"],
            progress=data.get("progress"),
            time_spent=data.get("timeSpent"),
            ts=data.get("ts"),
        )
        return self.respond(request, {data["contentId"]: "Progress updated"})


class ViewEndApi(EnvelopeApi):
    api_id = "api.view.end"

    class InputSerializer(ViewTargetSerializer):
        progressDetails = JsonObjectField(required=False)

    @schema.envelope(
        "ViewEnd",
        request=InputSerializer,
        result=_ACK_RESULT,
        summary="Complete a started view",
        description="Status 2, progress 100, completion time set once (else 400 "
        "`VIEW_NOT_STARTED`); ending a completed view changes nothing.",
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        view_end(
            target=_target(data), progress_details=data.get("progressDetails"), ts=data.get("ts")
        )
        return self.respond(request, {data["contentId"]: "Progress ended"})


_CONTENT_SCHEMA = {
    "type": "object",
    "properties": {
        "contentId": {"type": "string"},
        "status": {"type": "integer", "enum": [0, 1, 2]},
        "progress": {"type": "integer"},
        "progressDetails": {"type": "object", "nullable": True},
        "timeSpent": {"type": "number"},
        "lastAccessTime": {"type": "integer", "nullable": True},
        "lastCompletedTime": {"type": "integer", "nullable": True},
    },
}

_READ_RESULT = {
    "type": "object",
    "properties": {
        "userId": {"type": "string"},
        "collectionId": {"type": "string", "nullable": True},
        "contextId": {"type": "string", "nullable": True},
        "contents": {"type": "array", "items": _CONTENT_SCHEMA},
    },
}


def _content_json(row: Consumption) -> dict[str, Any]:
    return {
        "contentId": row.key.content_id,
        "status": row.status,
        "progress": row.progress,
        "progressDetails": row.progress_details,
        "timeSpent": row.time_spent,
        "lastAccessTime": timeutil.to_ms(row.last_access_time),
        "lastCompletedTime": timeutil.to_ms(row.last_completed_time),
    }


class ViewReadApi(EnvelopeApi):
    api_id = "api.view.read"

    class InputSerializer(StrictSerializer):
        userId = IdField()
        contentId = IdOrIdListField(required=False)
        collectionId = IdField(required=False)
        contextId = IdField(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            require_collection_with_context(attrs)
            if not attrs.get("contentId") and not attrs.get("collectionId"):
                raise serializers.ValidationError(
                    {"contentId": ErrorDetail("Give contentId or collectionId.", "required")}
                )
            return attrs

    @schema.envelope(
        "ViewRead",
        request=InputSerializer,
        result=_READ_RESULT,
        summary="Read the state of contents",
        description="Each requested content (status 0 when never started), or every started "
        "content of the collection/context. Status is read-after-write.",
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        rows = view_read(
            user_id=data["userId"],
            content_ids=data.get("contentId"),
            collection_id=data.get("collectionId"),
            context_id=data.get("contextId"),
        )
        return self.respond(
            request,
            {
                "userId": data["userId"],
                "collectionId": data.get("collectionId"),
                "contextId": data.get("contextId"),
                "contents": [_content_json(row) for row in rows],
            },
        )


_EXPLAIN_RESULT = {
    "type": "object",
    "properties": {
        "mode": {"type": "string"},
        "key": {
            "type": "object",
            "properties": {
                "userId": {"type": "string"},
                "collectionId": {"type": "string"},
                "contextId": {"type": "string"},
                "contentId": {"type": "string"},
            },
        },
        "status": {"type": "integer", "enum": [0, 1, 2]},
        "provenance": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": ["copy", "move"]},
                    "from": {"type": "object"},
                    "rule": {"type": "string"},
                    "at": {"type": "integer"},
                },
            },
        },
        "explanation": {"type": "string"},
    },
}


class ViewExplainApi(EnvelopeApi):
    api_id = "api.view.explain"

    class InputSerializer(ViewTargetSerializer):
        ts = None  # type: ignore[assignment]

    @schema.envelope(
        "ViewExplain",
        request=InputSerializer,
        result=_EXPLAIN_RESULT,
        summary="Why is this content (not) complete here?",
        description="The instance's mode, the storage key the request maps to, the status, and "
        "the provenance chain of a copied or moved row.",
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        return self.respond(request, view_explain(target=_target(data)))
