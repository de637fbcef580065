"""Fixtures of the assessment tests: the attempt repository on every backend."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils.module_loading import import_string

from tests.contract.conftest import backend  # noqa: F401  (the backend parameter, re-exported)
from viewer.storage import BACKENDS


@pytest.fixture
def attempt_repo(backend: str) -> Iterator[Any]:  # noqa: F811
    from tests.conftest import truncate_cassandra

    yield import_string(BACKENDS[backend]["attempts"])()
    if backend == "cassandra":
        truncate_cassandra()
