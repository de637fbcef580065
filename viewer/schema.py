"""OpenAPI helpers: every operation is documented with the request and response envelopes and
the error envelope (whose ``params.err`` lists every published error code)."""

from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers

from .errors import RESPONSE_CODE_CHOICES, error_catalogue


def _schema_field(schema: dict[str, Any], **kwargs: Any) -> serializers.Field:
    field_class = extend_schema_field(schema)(type("SchemaField", (serializers.JSONField,), {}))
    return field_class(**kwargs)


_PARAMS_IN = inline_serializer(
    name="RequestParams",
    fields={"msgid": serializers.CharField(required=False, max_length=256)},
    required=False,
)

_ERROR_TABLE = "\n".join(
    f"| `{code}` | {status} | `{response_code}` | {message} |"
    for code, (status, response_code, message) in sorted(error_catalogue().items())
)


def _params_out(*, failed: bool) -> serializers.Serializer:
    return inline_serializer(
        name="ErrorParams" if failed else "ResponseParams",
        fields={
            "resmsgid": serializers.CharField(),
            "msgid": serializers.CharField(),
            "err": (
                serializers.ChoiceField(choices=sorted(error_catalogue()))
                if failed
                else _schema_field({"type": "string", "nullable": True})
            ),
            "status": serializers.ChoiceField(choices=["failed"] if failed else ["success"]),
            "errmsg": (
                serializers.CharField()
                if failed
                else _schema_field({"type": "string", "nullable": True})
            ),
        },
    )


_PARAMS_OK = _params_out(failed=False)
_PARAMS_FAILED = _params_out(failed=True)

ERROR_ENVELOPE = inline_serializer(
    name="ErrorEnvelope",
    fields={
        "id": serializers.CharField(),
        "ver": serializers.CharField(),
        "ts": serializers.CharField(help_text="yyyy-MM-dd HH:mm:ss:SSSZ, UTC"),
        "params": _PARAMS_FAILED,
        "responseCode": serializers.ChoiceField(choices=RESPONSE_CODE_CHOICES),
        "result": _schema_field({"type": "object"}),
    },
)

ERROR_CODES_DESCRIPTION = (
    "Every error keeps the envelope: `params.status` = `failed`, `params.err` = the code, "
    "`params.errmsg` names the field, `result` = `{}`.\n\n"
    "| code | HTTP | responseCode | meaning |\n|---|---|---|---|\n" + _ERROR_TABLE
)


def envelope(
    name: str,
    *,
    result: serializers.Serializer | dict[str, Any],
    request: type[serializers.Serializer] | None = None,
    errors: Iterable[int] = (400, 405, 500, 503),
    summary: str = "",
    description: str = "",
    public: bool = False,
) -> Callable[[Any], Any]:
    """``extend_schema`` for one operation: request and response envelopes, error responses
    (plus 401, 403 and 429 unless the endpoint is public)."""
    result_field = _schema_field(result) if isinstance(result, dict) else result
    responses: dict[int, Any] = {
        200: inline_serializer(
            name=f"{name}Response",
            fields={
                "id": serializers.CharField(),
                "ver": serializers.CharField(),
                "ts": serializers.CharField(help_text="yyyy-MM-dd HH:mm:ss:SSSZ, UTC"),
                "params": _PARAMS_OK,
                "responseCode": serializers.ChoiceField(choices=["OK"]),
                "result": result_field,
            },
        )
    }
    error_list = sorted(
        set(errors)
        | ({415} if request is not None else set())
        | (set() if public else {401, 403, 429})
    )
    responses.update({status: ERROR_ENVELOPE for status in error_list})
    request_schema = None
    if request is not None:
        request_schema = inline_serializer(
            name=f"{name}Request",
            fields={
                "id": serializers.CharField(required=False),
                "ver": serializers.CharField(required=False),
                "ts": serializers.CharField(required=False),
                "params": _PARAMS_IN,
                # A subclass per operation gives each nested input its own component name.
                "request": type(f"{name}Input", (request,), {})(),
            },
        )
    return extend_schema(
        operation_id=name[0].lower() + name[1:],
        summary=summary,
        description=description,
        request=request_schema,
        responses=responses,
    )


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``viewer.auth.JWTAuthentication`` as HTTP bearer (JWT)."""

    target_class = "viewer.auth.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def add_error_catalogue(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error-code table in the API description, the
    strictness the validation enforces (no unknown fields in request bodies), and the id rules
    of path parameters."""
    from .validation import ID_SCHEMA

    info = result.setdefault("info", {})
    info["description"] = f"{info.get('description', '')}\n\n{ERROR_CODES_DESCRIPTION}"
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and not name.startswith("RequestParams"):
            component.setdefault("additionalProperties", False)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    parameter["schema"] = dict(ID_SCHEMA)
    return result
