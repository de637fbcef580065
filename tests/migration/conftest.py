"""Fixtures of the migration tests: the catalogue, a CSV export and a legacy keyspace of the
data set in ``legacy_data``."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api

from . import legacy_data

SOURCE_KEYSPACE = os.environ.get("CASSANDRA_TEST_KEYSPACE", "viewer_test") + "_src"


@pytest.fixture
def catalogue(api: Api) -> None:
    for collection, children in legacy_data.CATALOGUE.items():
        api.ok("PUT", f"/v1/collection/{collection}", {"name": collection, "children": children})


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    return legacy_data.write_csv(tmp_path / "export")


_created: list[str] = []


@pytest.fixture(scope="module")
def _drop_source_keyspace() -> Iterator[None]:
    yield
    if _created:
        from viewer import cql

        for keyspace in _created:
            cql.session().execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
        _created.clear()


@pytest.fixture
def legacy_keyspace(cassandra_keyspace: str, _drop_source_keyspace: None) -> str:
    """The data set in a legacy keyspace on the real Cassandra (made once per module)."""
    keyspace = SOURCE_KEYSPACE
    assert keyspace.startswith("viewer_test"), keyspace
    if keyspace not in _created:
        from viewer import cql

        legacy_data.load_cassandra(cql.session(), keyspace)
        _created.append(keyspace)
    return keyspace


@pytest.fixture
def summaries(api: Api) -> Callable[[], dict[str, list[dict[str, Any]]]]:
    """Every user's summary list (GET /v1/summary/list/{userId}), without the volatile
    ``lastUpdatedOn``."""

    def read() -> dict[str, list[dict[str, Any]]]:
        out = {}
        for user in legacy_data.USERS:
            listed = api.ok("GET", f"/v1/summary/list/{user}")["summary"]
            out[user] = [{k: v for k, v in s.items() if k != "lastUpdatedOn"} for s in listed]
        return out

    return read
