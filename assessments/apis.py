"""The assessment API: /v1/assessment/submit and /v1/assessment/read."""

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from django.core.validators import MinLengthValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from viewer import schema, timeutil
from viewer.api import EnvelopeApi
from viewer.validation import (
    EpochMillisField,
    IdField,
    NumberField,
    StrictSerializer,
    TextField,
)

from .domain import Attempt, BestScore, Question
from .selectors import attempt_read
from .services import attempt_submit

# Finite bounds (a JSON number such as 1e400 parses as infinity).
MAX_SCORE = 1_000_000
MAX_DURATION_SECONDS = 1_000_000_000
MAX_EVENTS = 1000
MAX_VALUES = 1000


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "object", "additionalProperties": True},
        "maxItems": MAX_VALUES,
        "description": "A list of JSON objects; values that are not strings are stored as "
        "their JSON text.",
    }
)
class ValueListField(serializers.Field):
    """A list of JSON objects, stored as string-to-string maps (the ``question`` type's
    ``params`` and ``resvalues``): a value that is not a string is kept as its JSON text."""

    default_error_messages = {
        "type": "Must be a list of JSON objects.",
        "size": f"Must list at most {MAX_VALUES} objects.",
    }

    def to_internal_value(self, data: Any) -> tuple[dict[str, str], ...]:
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            self.fail("type")
        if len(data) > MAX_VALUES:
            self.fail("size")
        return tuple(
            {
                key: value
                if isinstance(value, str)
                else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
                for key, value in item.items()
            }
            for item in data
        )

    def to_representation(self, value: Any) -> Any:
        return [dict(item) for item in value]


class TelemetrySerializer(StrictSerializer):
    """Strict, except for the telemetry v3 fields named in ``ignored``: a player's ASSESS event
    carries them and they do not bear on the score, so they are accepted and dropped."""

    ignored: ClassVar[frozenset[str]] = frozenset()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = {key: value for key, value in data.items() if key not in self.ignored}
        return super().to_internal_value(data)


class AssessItemSerializer(TelemetrySerializer):
    """``edata.item``: the question. The telemetry fields uri, exlength, mmc and mc are accepted
    and ignored."""

    ignored = frozenset({"uri", "exlength", "mmc", "mc"})

    id = IdField(help_text="The question id.")
    maxscore = NumberField(max_value=MAX_SCORE)
    title = TextField(required=False, allow_null=True)
    type = TextField(required=False, allow_null=True, max_length=256)
    desc = TextField(
        required=False, allow_null=True, help_text="Kept as the question's description."
    )
    params = ValueListField(required=False, allow_null=True)


class AssessEdataSerializer(TelemetrySerializer):
    """``edata``: the answer to one question. The telemetry fields index and pass are accepted
    and ignored."""

    ignored = frozenset({"index", "pass"})

    item = AssessItemSerializer()
    score = NumberField(max_value=MAX_SCORE, help_text="At most the item's maxscore.")
    resvalues = ValueListField(required=False, allow_null=True)
    duration = NumberField(
        required=False,
        allow_null=True,
        max_value=MAX_DURATION_SECONDS,
        help_text="Seconds spent on the question.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        maxscore = attrs["item"]["maxscore"]
        if attrs["score"] > maxscore:
            raise serializers.ValidationError(
                {
                    "score": ErrorDetail(
                        f"Must not exceed item.maxscore ({maxscore:g}).", code="range"
                    )
                }
            )
        return attrs


@extend_schema_field({"type": "string", "enum": ["ASSESS"]})
class EidField(IdField):
    """The event type; ``validate_eid`` refuses anything but ASSESS (with its own message)."""


class AtLeastOne(MinLengthValidator):
    """A list that must not be empty: a missing parameter (MANDATORY_PARAMETER_MISSING), and
    ``minItems: 1`` in the schema."""

    code = "blank"

    def __init__(self, message: str) -> None:
        super().__init__(1, message)


class AssessEventSerializer(TelemetrySerializer):
    """One ASSESS event (telemetry v3). The envelope fields ver, mid, actor, context, object
    and tags are accepted and ignored."""

    ignored = frozenset({"ver", "mid", "actor", "context", "object", "tags"})

    eid = EidField(help_text='Must be "ASSESS".')
    ets = EpochMillisField(help_text="When the question was answered; the latest answer wins.")
    edata = AssessEdataSerializer()

    def validate_eid(self, value: str) -> str:
        if value != "ASSESS":
            raise serializers.ValidationError('Must be "ASSESS".', code="invalid")
        return value


def _answer(event: dict[str, Any]) -> Question:
    edata = event["edata"]
    item = edata["item"]
    return Question(
        id=item["id"],
        max_score=float(item["maxscore"]),
        score=float(edata["score"]),
        assess_ts=event["ets"],
        title=item.get("title"),
        type=item.get("type"),
        description=item.get("desc"),
        params=item.get("params") or (),
        resvalues=edata.get("resvalues") or (),
        duration=None if edata.get("duration") is None else float(edata["duration"]),
    )


class AssessmentSubmitApi(EnvelopeApi):
    api_id = "api.assessment.submit"

    class InputSerializer(StrictSerializer):
        userId = IdField()
        contentId = IdField()
        collectionId = IdField(help_text="The content must be a leaf of this collection.")
        contextId = IdField()
        attemptId = IdField()
        assessmentTs = EpochMillisField(
            help_text="When the attempt was made (epoch ms): a stored attempt is replaced only "
            "by a later one."
        )
        events: serializers.ListSerializer[Any] = serializers.ListSerializer(
            child=AssessEventSerializer(),
            max_length=MAX_EVENTS,
            validators=[AtLeastOne("Must list at least one ASSESS event.")],
            help_text="ASSESS events, one per answer (telemetry v3: the envelope fields ver, "
            "mid, actor, context, object, tags, and edata.index, edata.pass, item.uri, "
            "item.exlength, item.mmc, item.mc are accepted and ignored).",
        )

    @schema.envelope(
        "AssessmentSubmit",
        request=InputSerializer,
        result={
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": '`{"<contentId>": "Score updated"}`',
        },
        summary="Submit an attempt at an assessment",
        description="Keeps the latest answer per question (by `ets`), totals the scores, and "
        "stores the attempt: inserted, or replacing the stored one only when `assessmentTs` is "
        "later (an older or equal replay changes nothing and still answers success). The "
        "content is then marked complete and the collection's summary recomputed. The content "
        "must be a leaf of the catalogued collection (else `INVALID_PARAMETER`).",
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        attempt_submit(
            user_id=data["userId"],
            content_id=data["contentId"],
            collection_id=data["collectionId"],
            context_id=data["contextId"],
            attempt_id=data["attemptId"],
            assessment_ts=data["assessmentTs"],
            answers=[_answer(event) for event in data["events"]],
        )
        return self.respond(request, {data["contentId"]: "Score updated"})


_VALUE_LIST_SCHEMA = {
    "type": "array",
    "items": {"type": "object", "additionalProperties": {"type": "string"}},
}
_QUESTION_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "maxScore": {"type": "number"},
        "score": {"type": "number"},
        "title": {"type": "string", "nullable": True},
        "type": {"type": "string", "nullable": True},
        "description": {"type": "string", "nullable": True},
        "params": _VALUE_LIST_SCHEMA,
        "resvalues": _VALUE_LIST_SCHEMA,
        "duration": {"type": "number", "nullable": True},
        "assessTs": {"type": "integer", "description": "epoch ms"},
    },
}
_ATTEMPT_SCHEMA = {
    "type": "object",
    "properties": {
        "contentId": {"type": "string"},
        "attemptId": {"type": "string"},
        "assessmentTs": {"type": "integer", "description": "epoch ms"},
        "totalScore": {"type": "number"},
        "totalMaxScore": {"type": "number"},
        "grandTotal": {"type": "string", "example": "1.33/3.0"},
        "questions": {"type": "array", "items": _QUESTION_SCHEMA},
        "createdOn": {"type": "integer", "nullable": True, "description": "epoch ms"},
        "lastUpdatedOn": {"type": "integer", "nullable": True, "description": "epoch ms"},
    },
}
_BEST_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "attemptId": {"type": "string"},
        "attempts_count": {"type": "integer"},
    },
}
_READ_RESULT = {
    "type": "object",
    "properties": {
        "attempts": {"type": "array", "items": _ATTEMPT_SCHEMA},
        "best": {
            "type": "object",
            "additionalProperties": _BEST_SCHEMA,
            "description": "Per content id: the attempt with the highest total score (ties to "
            "the earlier one) with its own max score, and the number of attempts.",
        },
    },
}


def _question_json(question: Question) -> dict[str, Any]:
    return {
        "id": question.id,
        "maxScore": question.max_score,
        "score": question.score,
        "title": question.title,
        "type": question.type,
        "description": question.description,
        "params": [dict(v) for v in question.params],
        "resvalues": [dict(v) for v in question.resvalues],
        "duration": question.duration,
        "assessTs": timeutil.to_ms(question.assess_ts),
    }


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "contentId": attempt.key.content_id,
        "attemptId": attempt.attempt_id,
        "assessmentTs": timeutil.to_ms(attempt.assessment_ts),
        "totalScore": attempt.total_score,
        "totalMaxScore": attempt.total_max_score,
        "grandTotal": attempt.grand_total,
        "questions": [_question_json(q) for q in attempt.questions],
        "createdOn": timeutil.to_ms(attempt.created_on),
        "lastUpdatedOn": timeutil.to_ms(attempt.updated_on),
    }


def _best_json(best: BestScore) -> dict[str, Any]:
    return {
        "score": best.score,
        "max_score": best.max_score,
        "attemptId": best.attempt_id,
        "attempts_count": best.attempts_count,
    }


class AssessmentReadApi(EnvelopeApi):
    api_id = "api.assessment.read"

    class InputSerializer(StrictSerializer):
        userId = IdField()
        collectionId = IdField()
        contextId = IdField()
        contentId = IdField(required=False, help_text="Only this content's attempts.")

    @schema.envelope(
        "AssessmentRead",
        request=InputSerializer,
        result=_READ_RESULT,
        summary="Read the attempts and best scores of a collection in a context",
        description="Every attempt of the user in the (collection, context), or at one "
        "content, with its answers; and the best attempt per content. No attempts: "
        '`{"attempts": [], "best": {}}`.',
    )
    def post(self, request: Request) -> Response:
        data = self.parse(request, self.InputSerializer)
        report = attempt_read(
            user_id=data["userId"],
            collection_id=data["collectionId"],
            context_id=data["contextId"],
            content_id=data.get("contentId"),
        )
        return self.respond(
            request,
            {
                "attempts": [_attempt_json(a) for a in report.attempts],
                "best": {cid: _best_json(best) for cid, best in report.best.items()},
            },
        )
