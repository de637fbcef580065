"""Keyspace and seeding of the aggregation benchmark (Django settings from the environment).

    python -m bench.aggregation.prepare drop-keyspace
        drop CASSANDRA_KEYSPACE (only a name containing "bench")
    python -m bench.aggregation.prepare seed USERS WARM_USERS LEAVES
        the catalogue (one collection of LEAVES leaves in two units, one open batch context),
        then for each measured and warm-up user: a started view of every leaf and an enrolment
    python -m bench.aggregation.prepare wait-workers COUNT TIMEOUT
        wait until COUNT Celery workers answer a ping on CELERY_BROKER_URL

Seeding goes through the services (so rows get the active mode's keys) with no broker
configured: the enrolments' recomputes run in the seeding process, each enrolment starts with a
summary (every leaf at status 1) and nothing is queued for the workers.
"""

import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import django

from . import ids

SEED_THREADS = 8


def drop_keyspace() -> int:
    from viewer import cql

    name = cql.keyspace()
    if "bench" not in name or not re.fullmatch(r"[a-z0-9_]+", name):
        print(f"refusing to drop keyspace {name!r}: not a bench keyspace", file=sys.stderr)
        return 1
    session = cql.session()
    session.execute(f"DROP KEYSPACE IF EXISTS {name}", timeout=120)
    print(f"keyspace {name} dropped (if it existed)")
    session.cluster.shutdown()
    return 0


def _seed_user(user: str, leaves: list[str]) -> None:
    from consumption.services import view_start
    from summaries.services import enrolment_create
    from viewer.identifiers import ViewTarget

    for leaf in leaves:
        view_start(target=ViewTarget(user, leaf, ids.COLLECTION_ID, ids.CONTEXT_ID))
    enrolment_create(user_id=user, collection_id=ids.COLLECTION_ID, context_id=ids.CONTEXT_ID)


def seed(users: int, warm_users: int, leaf_count: int) -> int:
    from django.conf import settings
    from django.db import connections

    from modes.selectors import active_policy
    from viewer import cql
    from viewer.services import collection_put, context_put

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        print("seed: run without CELERY_BROKER_URL (recomputes in-process)", file=sys.stderr)
        return 1
    started = time.monotonic()
    policy = active_policy()
    collection = collection_put(
        identifier=ids.COLLECTION_ID,
        data={
            "name": "Aggregation benchmark course",
            "description": "bench/aggregation",
            "children": ids.collection_children(leaf_count),
        },
    )
    context_put(
        identifier=ids.CONTEXT_ID,
        data={
            "type": "batch",
            "name": "Aggregation benchmark batch",
            "collectionIds": [ids.COLLECTION_ID],
            "startDate": datetime(2020, 1, 1, tzinfo=UTC),
        },
    )
    leaves = ids.leaves(leaf_count)
    assert collection.leaves == leaves, collection.leaves
    everyone = [ids.user_id(i) for i in range(users)] + [
        ids.warm_user_id(i) for i in range(warm_users)
    ]
    cql.ping()  # connect once before the threads: the driver's lazy connect does not race well

    def seed_one(user: str) -> None:
        try:
            _seed_user(user, leaves)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(seed_one, everyone))  # re-raises the first error
    print(
        f"seeded mode {policy.name}: collection {ids.COLLECTION_ID} ({leaf_count} leaves in "
        f"{len(collection.units)} units), context {ids.CONTEXT_ID}, {users} users + {warm_users} "
        f"warm-up users, each enrolled with {leaf_count} started views, in "
        f"{time.monotonic() - started:.1f} s"
    )
    return 0


def wait_workers(count: int, timeout: float) -> int:
    import os

    from celery import Celery

    client = Celery(broker=os.environ["CELERY_BROKER_URL"], set_as_current=False)
    deadline = time.monotonic() + timeout
    replies: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        replies = client.control.ping(timeout=0.5) or []
        if len(replies) >= count:
            names = sorted(name for reply in replies for name in reply)
            print(f"{len(replies)} workers answer: {', '.join(names)}")
            return 0
    print(f"only {len(replies)} of {count} workers answered within {timeout:g} s", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    if argv[1:] == ["drop-keyspace"]:
        django.setup()
        return drop_keyspace()
    if len(argv) == 5 and argv[1] == "seed":
        django.setup()
        return seed(int(argv[2]), int(argv[3]), int(argv[4]))
    if len(argv) == 4 and argv[1] == "wait-workers":
        return wait_workers(int(argv[2]), float(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
