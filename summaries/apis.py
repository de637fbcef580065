"""Enrolment API: /v1/enrol and /v1/unenrol."""

from rest_framework.request import Request
from rest_framework.response import Response

from viewer import schema
from viewer.api import EnvelopeApi
from viewer.validation import IdField, StrictSerializer

from .services import enrolment_cancel, enrolment_create

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
