"""Cassandra driver failures become 503 SERVICE_UNAVAILABLE; programming errors do not."""

import pytest
from cassandra import (
    ConsistencyLevel,
    InvalidRequest,
    OperationTimedOut,
    ReadTimeout,
    Unavailable,
    WriteTimeout,
    WriteType,
)
from cassandra.cluster import NoHostAvailable

from viewer import cql
from viewer.errors import StoreUnavailableError

FAILURES = [
    NoHostAvailable("Unable to connect to any servers", {}),
    OperationTimedOut("timed out"),
    Unavailable("down", consistency=ConsistencyLevel.QUORUM, required_replicas=2, alive_replicas=1),
    ReadTimeout("read timeout", consistency=ConsistencyLevel.QUORUM),
    WriteTimeout("write timeout", consistency=ConsistencyLevel.QUORUM, write_type=WriteType.CAS),
    ConnectionRefusedError(111, "refused"),
]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: type(f).__name__)
def test_cassandra_failures_are_store_unavailable(failure: Exception) -> None:
    with pytest.raises(StoreUnavailableError), cql.store_errors():
        raise failure


def test_cassandra_invalid_request_is_a_bug_not_an_outage() -> None:
    with pytest.raises(InvalidRequest), cql.store_errors():
        raise InvalidRequest("unconfigured table")
