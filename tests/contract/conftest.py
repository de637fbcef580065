"""Contract tests run every repository against every storage backend."""

from typing import Any

import pytest
from django.utils.module_loading import import_string

from viewer.storage import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "cassandra":
        request.getfixturevalue("cassandra_keyspace")
    return request.param


@pytest.fixture
def consumption_repo(backend: str) -> Any:
    from tests.conftest import truncate_cassandra

    yield import_string(BACKENDS[backend]["consumption"])()
    if backend == "cassandra":
        truncate_cassandra()
