"""The course service's APIs: PATCH /v1/content/state/update, POST /v1/content/state/read,
GET /v1/user/enrollment/list/{userId}. Request and response shapes, validation order and error
codes are the course service's; authorization is this service's (a learner acts only on their
own userId, wherever it is named)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from assessments.apis import _answer as answer_of
from viewer import schema
from viewer.api import EnvelopeApi
from viewer.auth import Principal
from viewer.errors import InvalidParameterError

from .selectors import content_state, enrolment_list
from .services import AssessmentState, ContentState, content_state_update, enrolment_sync
from .validation import ContentStateReadSerializer, ContentStateUpdateSerializer

_CODES = (
    "Errors keep the course service's codes (clients match on them); each message names the field."
)


class LegacyApi(EnvelopeApi):
    def acting_user(self, request: Request, data: dict[str, Any]) -> str:
        """The request's userId, or the token's user (as the course service takes it)."""
        user_id = data.get("userId")
        if user_id is None:
            principal = request.user
            assert isinstance(principal, Principal)  # ViewerAccess let only principals in
            user_id = principal.user_id
        return str(user_id)


def _content(item: dict[str, Any]) -> ContentState:
    return ContentState(
        content_id=item["contentId"],
        course_id=item["courseId"],
        batch_id=item.get("batchId"),
        status=item["status"],
        progress=item.get("progress"),
        progress_details=item.get("progressdetails"),
        last_access_time=item.get("lastAccessTime"),
        last_completed_time=item.get("lastCompletedTime"),
    )


def _assessment(item: dict[str, Any]) -> AssessmentState:
    return AssessmentState(
        content_id=item["contentId"],
        course_id=item["courseId"],
        batch_id=item["batchId"],
        attempt_id=item["attemptId"],
        assessment_ts=item["assessmentTs"],
        answers=tuple(answer_of(event) for event in item["events"]),
    )


_UPDATE_RESULT = {
    "type": "object",
    "properties": {
        "NOT_A_ON_GOING_BATCH": {"type": "array", "items": {"type": "string"}},
        "BATCH_NOT_EXISTS": {"type": "array", "items": {"type": "string"}},
        "response": {"type": "string", "enum": ["SUCCESS"], "description": "Sync mode."},
    },
    "additionalProperties": {"type": "string", "enum": ["SUCCESS"]},
    "description": '`{"<contentId>": "SUCCESS", "<batchId of an assessment>": "SUCCESS", '
    '"NOT_A_ON_GOING_BATCH": [batchIds], "BATCH_NOT_EXISTS": [batchIds]}`; in sync mode '
    '`{"response": "SUCCESS"}`.',
}


class ContentStateUpdateApi(LegacyApi):
    api_id = "api.content.state.update"

    @schema.envelope(
        "ContentStateUpdate",
        request=ContentStateUpdateSerializer,
        result=_UPDATE_RESULT,
        summary="Legacy: record content progress and assessments (course service)",
        description="Each content is a view start, then a view update (status 0/1) or end "
        "(status 2); each assessment an attempt submit that completes its content. A batch "
        "that is unknown (or without the course) is listed under `BATCH_NOT_EXISTS`, one that "
        "is not ongoing now under `NOT_A_ON_GOING_BATCH`; nothing of it is written (still "
        "200). Without contents and assessments (sync mode) the enrolment named by "
        "`courseId`/`batchId` is recomputed (`INVALID_REQUESTED_DATA` without one). Dates are "
        "`yyyy-MM-dd HH:mm:ss:SSSZ`. " + _CODES + " Contents, in this order: "
        "`DATE_FORMAT_ERRROR`, `COURSE_ID_REQUIRED_ERROR`, `CONTENT_ID_REQUIRED_ERROR`, "
        "`CONTENT_STATUS_MISSING_ERROR`; assessments: `ATTEMPTED_DATE_REQUIRED`, "
        "`COURSE_ID_REQUIRED_ERROR`, `CONTENT_ID_REQUIRED_ERROR`, `COURSE_BATCH_ID_MISSING`, "
        "`USERID_MISSING`, `ATTEMPT_ID_REQUIRED_ERROR`, `EVENTS_DATA_MISSING`.",
    )
    def patch(self, request: Request) -> Response:
        data = self.parse(request, ContentStateUpdateSerializer)
        user_id = self.acting_user(request, data)
        contents = data.get("contents") or []
        assessments = data.get("assessments") or []
        for field, items in (("contents", contents), ("assessments", assessments)):
            for index, item in enumerate(items):
                item_user = item.get("userId") or user_id
                self.check_user(request, item_user)
                if item_user != user_id:
                    raise InvalidParameterError(
                        f"request.{field}[{index}].userId: Must be the request's userId "
                        f"('{user_id}')."
                    )
        if not contents and not assessments:
            enrolment_sync(user_id=user_id, course_id=data["courseId"], batch_id=data["batchId"])
            return self.respond(request, {"response": "SUCCESS"})
        result = content_state_update(
            user_id=user_id,
            contents=[_content(item) for item in contents],
            assessments=[_assessment(item) for item in assessments],
        )
        return self.respond(request, result)


_SCORE = {
    "type": "object",
    "properties": {
        "attempt_id": {"type": "string", "nullable": True},
        "last_attempted_on": {"type": "integer", "nullable": True, "description": "epoch ms"},
        "total_max_score": {"type": "number"},
        "total_score": {"type": "number"},
    },
}
_LEGACY_DATE = {"type": "string", "nullable": True, "example": "2020-11-23 12:58:35:179+0000"}
_CONTENT_STATE = {
    "type": "object",
    "properties": {
        "contentId": {"type": "string"},
        "courseId": {"type": "string"},
        "collectionId": {"type": "string"},
        "batchId": {"type": "string"},
        "status": {"type": "integer", "enum": [1, 2]},
        "progress": {"type": "integer"},
        "viewCount": {"type": "integer"},
        "completedCount": {"type": "integer"},
        "lastAccessTime": _LEGACY_DATE,
        "lastCompletedTime": _LEGACY_DATE,
        "progressdetails": {"type": "object", "nullable": True},
        "score": {"type": "array", "items": _SCORE, "description": 'With fields ["score"].'},
    },
}


class ContentStateReadApi(LegacyApi):
    api_id = "api.content.state.read"

    @schema.envelope(
        "ContentStateRead",
        request=ContentStateReadSerializer,
        result={
            "type": "object",
            "properties": {"contentList": {"type": "array", "items": _CONTENT_STATE}},
        },
        summary="Legacy: read content progress in a course batch (course service)",
        description="Every started content of the user in the course and batch (or the "
        "`contentIds` among them), ordered by content id; `score` lists each content's attempts "
        "(at most 25) when `fields` has `score`. Statuses are read-after-write. "
        + _CODES
        + " `MANDATORY_PARAMETER_MISSING` for a missing courseId or batchId.",
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, ContentStateReadSerializer)
        user_id = self.acting_user(request, data)
        items = content_state(
            user_id=user_id,
            course_id=data["courseId"],
            batch_id=data["batchId"],
            content_ids=data.get("contentIds"),
            with_scores="score" in (data.get("fields") or []),
        )
        return self.respond(request, {"contentList": items})


_COURSE = {
    "type": "object",
    "properties": {
        "userId": {"type": "string"},
        "courseId": {"type": "string"},
        "collectionId": {"type": "string"},
        "contentId": {"type": "string"},
        "batchId": {"type": "string"},
        "active": {"type": "boolean"},
        "enrolledDate": _LEGACY_DATE,
        "dateTime": {"type": "integer", "nullable": True, "description": "epoch ms"},
        "courseName": {"type": "string"},
        "description": {"type": "string"},
        "courseLogoUrl": {"type": "string", "nullable": True},
        "leafNodesCount": {"type": "integer"},
        "content": {"type": "object"},
        "contentStatus": {"type": "object", "additionalProperties": {"type": "integer"}},
        "progress": {"type": "integer", "description": "Completed required contents (a count)."},
        "completionPercentage": {"type": "integer"},
        "status": {"type": "integer", "enum": [0, 1, 2]},
        "completedOn": {"type": "integer", "nullable": True, "description": "epoch ms"},
        "issuedCertificates": {"type": "array", "items": {"type": "object"}},
        "certificates": {"type": "array", "items": {"type": "object"}},
        "lastReadContentId": {"type": "string", "nullable": True},
        "lastReadContentStatus": {"type": "integer", "nullable": True},
        "lastContentAccessTime": {"type": "integer", "nullable": True},
        "batch": {"type": "object", "nullable": True},
    },
}
_LIST_PARAMETERS = {"cache", "fields", "batchDetails", "orgdetails", "licenseDetails"}


class EnrolmentListApi(LegacyApi):
    api_id = "api.user.courses.list"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "cache",
                OpenApiTypes.STR,
                enum=["true", "false"],
                description="Accepted; every answer is fresh.",
            ),
            *(
                OpenApiParameter(name, OpenApiTypes.STR, description="Accepted and ignored.")
                for name in sorted(_LIST_PARAMETERS - {"cache"})
            ),
        ]
    )
    @schema.envelope(
        "EnrolmentList",
        result={"type": "object", "properties": {"courses": {"type": "array", "items": _COURSE}}},
        summary="Legacy: a user's enrolments with progress (course service)",
        description="Active enrolments in catalogued courses, latest enrolment first, read from "
        "the enrolments and aggregates (never from consumption rows): `progress` is the count "
        "of completed required contents, `completionPercentage` and `status` the enrolment's "
        "(completion is terminal), `batch` the context.",
    )
    def get(self, request: Request, user_id: str) -> Response:
        user_id = self.path_id("userId", user_id)
        self.check_user(request, user_id)
        unknown = sorted(set(request.query_params) - _LIST_PARAMETERS)
        if unknown:
            raise InvalidParameterError(
                "; ".join(f"query.{name}: Unknown parameter." for name in unknown)
            )
        if request.query_params.get("cache", "true") not in ("true", "false"):
            raise InvalidParameterError("query.cache: Must be true or false.")
        return self.respond(request, {"courses": enrolment_list(user_id=user_id)})
