"""The OpenAPI schema: generated without warnings, documenting the envelope and every code."""

import io

from django.core.management import call_command

from tests.conftest import Api
from viewer.errors import error_catalogue


def test_schema_generates_without_warnings() -> None:
    out = io.StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    assert '"openapi"' in out.getvalue()


def test_schema_documents_every_error_code_and_endpoint(api: Api) -> None:
    response = api.client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    enum = schema["components"]["schemas"]["ErrorCodeEnum"]["enum"]
    assert set(enum) == set(error_catalogue())
    for code in error_catalogue():
        assert f"`{code}`" in schema["info"]["description"]
    for path in (
        "/v1/view/start",
        "/v1/view/update",
        "/v1/view/end",
        "/v1/view/read",
        "/v1/collection/{identifier}",
        "/v1/context/{identifier}",
        "/health",
        "/ready",
    ):
        assert path in schema["paths"], path
    start = schema["paths"]["/v1/view/start"]["post"]
    assert {"200", "400", "415", "500", "503"} <= set(start["responses"])


def test_docs_page_is_served(api: Api) -> None:
    response = api.client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_schema_is_as_strict_as_the_assessment_validation(api: Api) -> None:
    """What validation refuses, the schema says: clients (and the fuzzer) read it."""
    schemas = api.client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"][
        "schemas"
    ]
    events = schemas["AssessmentSubmitInputRequest"]["properties"]["events"]
    assert events["minItems"] == 1
    eid = schemas["AssessEventRequest"]["properties"]["eid"]["allOf"][0]["$ref"].split("/")[-1]
    assert schemas[eid]["enum"] == ["ASSESS"]
