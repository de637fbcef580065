"""Enrolment and summary APIs: /v1/enrol, /v1/unenrol, /v1/summary/*."""

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from viewer import schema
from viewer.api import EnvelopeApi
from viewer.apis import PublicApi
from viewer.errors import ForbiddenError, InvalidParameterError, NotFoundError
from viewer.validation import IdField, StrictSerializer

from .selectors import summary_list, summary_read
from .services import enrolment_cancel, enrolment_create, summary_delete, summary_export

_RESULT = {"type": "object", "properties": {"response": {"type": "string", "enum": ["SUCCESS"]}}}
_ERRORS_NOTE = (
    "Errors keep the course service's codes: `INVALID_COURSE_BATCH_ID` (unknown context, or "
    "one without this collection), `COURSE_BATCH_ALREADY_COMPLETED` (the context has ended)"
)


class EnrolmentInputSerializer(StrictSerializer):
    userId = IdField()
    collectionId = IdField()
    contextId = IdField()


class EnrolApi(EnvelopeApi):
    api_id = "api.enrol"
    InputSerializer = EnrolmentInputSerializer

    @schema.envelope(
        "Enrol",
        request=EnrolmentInputSerializer,
        result=_RESULT,
        summary="Enrol a learner in a collection within a context",
        description=f"{_ERRORS_NOTE}, `COURSE_BATCH_ENROLLMENT_DATE_ENDED`, "
        "`USER_ALREADY_ENROLLED_COURSE`. Re-enrolling after an unenrol keeps the history. "
        "Runs the mode's enrol hook (copy, move).",
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        enrolment_create(
            user_id=data["userId"], collection_id=data["collectionId"], context_id=data["contextId"]
        )
        return self.respond(request, {"response": "SUCCESS"})


class UnenrolApi(EnvelopeApi):
    api_id = "api.unenrol"
    InputSerializer = EnrolmentInputSerializer

    @schema.envelope(
        "Unenrol",
        request=EnrolmentInputSerializer,
        result=_RESULT,
        summary="Unenrol a learner (the enrolment becomes inactive; progress is kept)",
        description=f"{_ERRORS_NOTE}, `USER_NOT_ENROLLED_COURSE`.",
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        enrolment_cancel(
            user_id=data["userId"], collection_id=data["collectionId"], context_id=data["contextId"]
        )
        return self.respond(request, {"response": "SUCCESS"})


_SUMMARY = {
    "type": "object",
    "properties": {
        "userId": {"type": "string"},
        "collectionId": {"type": "string"},
        "contextId": {"type": "string"},
        "enrolledDate": {"type": "integer", "nullable": True},
        "active": {"type": "boolean"},
        "contentStatus": {"type": "object", "additionalProperties": {"type": "integer"}},
        "assessmentStatus": {"type": "object"},
        "collection": {"type": "object", "nullable": True},
        "issuedCertificates": {"type": "array", "items": {"type": "object"}},
        "completedOn": {"type": "integer", "nullable": True},
        "progress": {"type": "integer"},
        "status": {"type": "integer", "enum": [0, 1, 2]},
        "lastUpdatedOn": {"type": "integer", "nullable": True},
        "pending": {"type": "boolean"},
    },
}


class SummaryListApi(EnvelopeApi):
    api_id = "api.summary.list"

    @schema.envelope(
        "SummaryList",
        result={"type": "object", "properties": {"summary": {"type": "array", "items": _SUMMARY}}},
        summary="Every enrolment of a user with its progress and scores",
        description="Read from the aggregates (`pending`: a recompute is queued).",
    )
    def get(self, request: Request, user_id: str) -> Response:
        user_id = self.path_id("userId", user_id)
        self.check_user(request, user_id)
        return self.respond(request, {"summary": summary_list(user_id=user_id)})


class SummaryReadApi(EnvelopeApi):
    api_id = "api.summary.read"
    InputSerializer = EnrolmentInputSerializer

    @schema.envelope(
        "SummaryRead",
        request=EnrolmentInputSerializer,
        result={"type": "object", "properties": {"summary": _SUMMARY}},
        errors=(400, 404, 405, 500, 503),
        summary="One enrolment's summary",
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        summary = summary_read(
            user_id=data["userId"], collection_id=data["collectionId"], context_id=data["contextId"]
        )
        return self.respond(request, {"summary": summary})


class SummaryDeleteApi(EnvelopeApi):
    api_id = "api.summary.delete"

    class InputSerializer(StrictSerializer):
        userId = IdField(required=False)
        collectionId = IdField()
        contextId = IdField()

    @schema.envelope(
        "SummaryDelete",
        request=InputSerializer,
        result={"type": "object"},
        summary="Delete one enrolment's data (or all of the user's with ?all=true)",
        description="Removes the enrolment, its aggregates, consumption rows, attempts and "
        "status-map entries - nothing orphaned. With `?all=true` no body is needed.",
    )
    def delete(self, request: Request, user_id: str) -> Response:
        user_id = self.path_id("userId", user_id)
        self.check_user(request, user_id)
        if request.query_params.get("all") == "true":
            summary_delete(user_id=user_id)
            return self.respond(request, {})
        data = self.parse(request, self.InputSerializer)
        if data.get("userId", user_id) != user_id:
            raise InvalidParameterError("request.userId: Must be the user id of the path.")
        summary_delete(
            user_id=user_id, collection_id=data["collectionId"], context_id=data["contextId"]
        )
        return self.respond(request, {})


_SIGNER_SALT = "viewer.summary.download"


class SummaryDownloadApi(EnvelopeApi):
    api_id = "api.summary.download"

    @schema.envelope(
        "SummaryDownload",
        result={"type": "object", "properties": {"url": {"type": "string"}}},
        summary="A link to download the user's summaries (?format=json|csv)",
        description="The link is signed and expires (`VIEWER_DOWNLOAD_LINK_SECONDS`).",
    )
    def get(self, request: Request, user_id: str) -> Response:
        user_id = self.path_id("userId", user_id)
        self.check_user(request, user_id)
        file_format = request.query_params.get("format", "json")
        if file_format not in ("json", "csv"):
            raise InvalidParameterError("format: Must be json or csv.")
        name = summary_export(user_id=user_id, file_format=file_format)
        token = signing.dumps(name, salt=_SIGNER_SALT)
        filename = name.rsplit("/", 1)[-1]
        url = request.build_absolute_uri(
            reverse("summary-file", kwargs={"token": token, "filename": filename})
        )
        return self.respond(request, {"url": url})


class SummaryFileApi(PublicApi):
    """Serves a downloaded summary file to whoever holds the signed, unexpired link."""

    api_id = "api.summary.file"

    @extend_schema(exclude=True)
    def get(self, request: Request, token: str, filename: str) -> FileResponse:
        try:
            name = signing.loads(
                token, salt=_SIGNER_SALT, max_age=settings.VIEWER_DOWNLOAD_LINK_SECONDS
            )
        except signing.BadSignature as exc:
            raise ForbiddenError("The download link is invalid or has expired.") from exc
        if not default_storage.exists(name):
            raise NotFoundError("The file is gone; ask for a new link.")
        content_type = "text/csv" if name.endswith(".csv") else "application/json"
        return FileResponse(
            default_storage.open(name),
            as_attachment=True,
            filename=filename,
            content_type=content_type,
        )
