"""PUT/GET /v1/collection/{id} and /v1/context/{id}, and their Django admin forms."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from tests.conftest import Api, error_of

TREE = [
    {
        "identifier": "unit-1",
        "children": [{"identifier": "a"}, {"identifier": "b", "optional": True}],
    },
    {"identifier": "unit-2", "optional": True, "children": [{"identifier": "c"}]},
    {"identifier": "d"},
]


def test_collection_put_then_get_returns_the_hierarchy_and_counts(api: Api) -> None:
    put = api.ok(
        "PUT", "/v1/collection/C1", {"name": "Maths", "description": "d", "children": TREE}
    )
    got = api.ok("GET", "/v1/collection/C1")
    assert put == got
    collection = got["collection"]
    assert collection["identifier"] == "C1"
    assert collection["name"] == "Maths"
    assert collection["children"] == TREE
    assert collection["leafNodes"] == ["a", "b", "c", "d"]
    assert collection["leafNodesCount"] == 4
    assert collection["optionalNodes"] == ["b", "c"]
    assert collection["units"] == ["unit-1", "unit-2"]
    assert isinstance(collection["createdOn"], int)


def test_collection_put_replaces_the_whole_collection(api: Api) -> None:
    api.ok("PUT", "/v1/collection/C1", {"name": "Maths", "logo": "l.png", "children": TREE})
    api.ok("PUT", "/v1/collection/C1", {"name": "Maths 2", "children": [{"identifier": "z"}]})
    collection = api.ok("GET", "/v1/collection/C1")["collection"]
    assert (collection["name"], collection["logo"], collection["leafNodes"]) == (
        "Maths 2",
        "",
        ["z"],
    )


def test_collection_get_unknown_is_404(api: Api) -> None:
    status, err, errmsg = error_of(api.get("/v1/collection/nope"))
    assert (status, err) == (404, "RESOURCE_NOT_FOUND")
    assert "nope" in errmsg


BAD_TREES = [
    (
        "missing name",
        {"children": [{"identifier": "a"}]},
        "MANDATORY_PARAMETER_MISSING",
        "request.name: This field is required.",
    ),
    (
        "children not a list",
        {"name": "n", "children": {}},
        "INVALID_PARAMETER",
        "request.children: Must be a list of nodes.",
    ),
    (
        "no children",
        {"name": "n", "children": []},
        "INVALID_PARAMETER",
        "request.children: Must not",
    ),
    (
        "node without identifier",
        {"name": "n", "children": [{"identifier": "a"}, {}]},
        "MANDATORY_PARAMETER_MISSING",
        "request.children[1].identifier: This field is required.",
    ),
    (
        "unknown node field",
        {"name": "n", "children": [{"identifier": "a", "kind": 1}]},
        "INVALID_PARAMETER",
        "request.children[0].kind: Unknown field.",
    ),
    (
        "duplicate unit",
        {
            "name": "n",
            "children": [
                {"identifier": "u", "children": [{"identifier": "a"}]},
                {"identifier": "u", "children": [{"identifier": "b"}]},
            ],
        },
        "INVALID_PARAMETER",
        "request.children[1].identifier: 'u' appears twice as a unit",
    ),
    (
        "unit and leaf",
        {
            "name": "n",
            "children": [
                {"identifier": "u", "children": [{"identifier": "a"}]},
                {"identifier": "u"},
            ],
        },
        "INVALID_PARAMETER",
        "request.children[1].identifier: 'u' is both a unit and a leaf",
    ),
    (
        "nested bad id",
        {
            "name": "n",
            "children": [
                {"identifier": "u", "children": [{"identifier": "ok"}, {"identifier": 3}]}
            ],
        },
        "INVALID_PARAMETER",
        "request.children[0].children[1].identifier: Must be a string.",
    ),
    (
        "optional not boolean",
        {"name": "n", "children": [{"identifier": "a", "optional": "yes"}]},
        "INVALID_PARAMETER",
        "request.children[0].optional: Must be true or false.",
    ),
    (
        "node is the collection",
        {"name": "n", "children": [{"identifier": "C1"}]},
        "INVALID_PARAMETER",
        "is the collection's own id",
    ),
]


@pytest.mark.parametrize(
    ("body", "code", "fragment"), [c[1:] for c in BAD_TREES], ids=[c[0] for c in BAD_TREES]
)
def test_collection_put_rejects_bad_hierarchy(
    api: Api, body: dict, code: str, fragment: str
) -> None:
    status, err, errmsg = error_of(api.put("/v1/collection/C1", body))
    assert (status, err) == (400, code)
    assert fragment in errmsg
    assert api.get("/v1/collection/C1")[0] == 404


def test_collection_path_id_is_validated(api: Api) -> None:
    status, err, errmsg = error_of(api.get("/v1/collection/" + "x" * 300))
    assert (status, err) == (400, "INVALID_PARAMETER")
    assert errmsg == "path.identifier: Must be at most 256 characters."


def test_context_put_then_get_with_dates(api: Api) -> None:
    api.ok("PUT", "/v1/collection/C1", {"name": "Maths", "children": TREE})
    body = {
        "type": "batch",
        "name": "B",
        "collectionIds": ["C1"],
        "startDate": "2026-08-01",
        "endDate": "2026-08-31",
        "enrollmentEndDate": "2026-08-10T12:00:00+02:00",
    }
    put = api.ok("PUT", "/v1/context/B1", body)
    assert put == api.ok("GET", "/v1/context/B1")
    context = put["context"]
    assert context["startDate"] == "2026-08-01T00:00:00.000Z"
    # An end date without a time includes its whole day.
    assert context["endDate"] == "2026-08-31T23:59:59.999Z"
    assert context["enrollmentEndDate"] == "2026-08-10T10:00:00.000Z"
    assert context["collectionIds"] == ["C1"]


def test_context_open_ended(api: Api) -> None:
    api.ok("PUT", "/v1/collection/C1", {"name": "Maths", "children": TREE})
    context = api.ok(
        "PUT",
        "/v1/context/P1",
        {
            "type": "program",
            "collectionIds": ["C1"],
            "startDate": "2026-08-01T09:30:00Z",
        },
    )["context"]
    assert (context["endDate"], context["enrollmentEndDate"]) == (None, None)


BAD_CONTEXTS = [
    ("unknown type", {"type": "course"}, "INVALID_PARAMETER", "request.type"),
    ("type not a string", {"type": 1}, "INVALID_PARAMETER", "request.type"),
    ("no collections", {"collectionIds": []}, "INVALID_PARAMETER", "request.collectionIds"),
    (
        "unknown collection",
        {"collectionIds": ["C1", "C9"]},
        "INVALID_PARAMETER",
        "request.collectionIds: Unknown collection(s) C9",
    ),
    ("bad date", {"startDate": "01/08/2026"}, "INVALID_PARAMETER", "request.startDate: Must be"),
    (
        "end before start",
        {"endDate": "2026-07-01"},
        "INVALID_PARAMETER",
        "request.endDate: Must not be before startDate.",
    ),
    (
        "enrolment end after end",
        {"endDate": "2026-08-31", "enrollmentEndDate": "2026-09-01"},
        "INVALID_PARAMETER",
        "request.enrollmentEndDate: Must not be after endDate.",
    ),
    ("missing startDate", {"startDate": None}, "MANDATORY_PARAMETER_MISSING", "request.startDate"),
]


@pytest.mark.parametrize(
    ("change", "code", "fragment"), [c[1:] for c in BAD_CONTEXTS], ids=[c[0] for c in BAD_CONTEXTS]
)
def test_context_put_rejects_bad_input(api: Api, change: dict, code: str, fragment: str) -> None:
    api.ok("PUT", "/v1/collection/C1", {"name": "Maths", "children": TREE})
    body = {"type": "batch", "collectionIds": ["C1"], "startDate": "2026-08-01", **change}
    status, err, errmsg = error_of(api.put("/v1/context/B1", body))
    assert (status, err) == (400, code)
    assert fragment in errmsg
    assert api.get("/v1/context/B1")[0] == 404


def test_admin_collection_form_validates_like_the_api(api: Api) -> None:
    admin = User.objects.create_superuser("admin", "a@example.com", "pw")
    api.client.force_login(admin)
    response = api.client.post(
        "/admin/viewer/collectionrecord/add/",
        {
            "identifier": "C1",
            "name": "Maths",
            "description": "",
            "logo": "",
            "children": '[{"identifier": "a", "children": [{"identifier": "a"}]}]',
        },
    )
    assert response.status_code == 200  # the form is shown again with the error
    assert b"is both a unit and a leaf" in response.content
    response = api.client.post(
        "/admin/viewer/collectionrecord/add/",
        {
            "identifier": "C1",
            "name": "Maths",
            "description": "",
            "logo": "",
            "children": '[{"identifier": "a"}, {"identifier": "b"}]',
        },
    )
    assert response.status_code == 302
    assert api.ok("GET", "/v1/collection/C1")["collection"]["leafNodes"] == ["a", "b"]


def test_collection_leaf_under_several_units_counts_once(api: Api) -> None:
    tree = [
        {"identifier": "unit1", "children": [{"identifier": "C299"}]},
        {"identifier": "unit2", "children": [{"identifier": "C300"}]},
        {"identifier": "unit3", "children": [{"identifier": "C301"}, {"identifier": "C300"}]},
    ]
    collection = api.ok("PUT", "/v1/collection/course", {"name": "c", "children": tree})
    assert collection["collection"]["leafNodes"] == ["C299", "C300", "C301"]
    assert collection["collection"]["leafNodesCount"] == 3


def test_collections_are_kept_per_process_and_a_write_forgets_them(
    api: Api, django_assert_num_queries: Any
) -> None:
    """Recomputes and reads find a collection without a query while it is kept
    (VIEWER_CATALOGUE_CACHE_SECONDS); a PUT in the same process forgets it at once."""
    from viewer.selectors import collection_find

    def leaves() -> list[str]:
        found = collection_find(identifier="C1")
        assert found is not None
        return found.leaves

    api.ok("PUT", "/v1/collection/C1", {"name": "Maths", "children": TREE})
    with override_settings(VIEWER_CATALOGUE_CACHE_SECONDS=60):
        with django_assert_num_queries(1):
            assert leaves() == ["a", "b", "c", "d"]
            assert leaves() == ["a", "b", "c", "d"]
        api.ok("PUT", "/v1/collection/C1", {"name": "Maths", "children": [{"identifier": "z"}]})
        assert leaves() == ["z"]
        with django_assert_num_queries(2):  # an absent collection is not kept
            assert collection_find(identifier="nope") is None
            assert collection_find(identifier="nope") is None
