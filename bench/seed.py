"""Seed and check the bench database (run with DJANGO_SETTINGS_MODULE=bench.settings).

    python -m bench.seed seed USERS CONTENTS    start a view of every (user, content)
    python -m bench.seed verify USERS CONTENTS  every seeded row exists and was updated
    python -m bench.seed drop-keyspace          VIEWER_STORE=cassandra: drop CASSANDRA_KEYSPACE
                                                (only a name containing "bench")

The identifiers must match the ones bench/common.lua sends. On VIEWER_STORE=cassandra seeding
goes through the service too (one LWT INSERT and one Redis raise per view), from SEED_THREADS
threads.
"""

import re
import sys
from concurrent.futures import ThreadPoolExecutor

import django

SEED_THREADS = 8

COLLECTION_ID = "do_21369999999999990001"
CONTEXT_ID = "01369999999999990001"


def user_id(index: int) -> str:
    return f"user-{index:06d}"


def content_id(index: int) -> str:
    return f"do_2137000000000000{index:06d}"


def _start_user(u: int, contents: int) -> None:
    from consumption.services import view_start
    from viewer.identifiers import ViewTarget

    for c in range(contents):
        view_start(target=ViewTarget(user_id(u), content_id(c), COLLECTION_ID, CONTEXT_ID))


def seed(users: int, contents: int) -> None:
    from django.conf import settings
    from django.db import transaction

    # Through the service, so the rows get exactly the keys the active mode policy gives them.
    if settings.VIEWER_STORE == "cassandra":
        # The first user alone: the driver's lazy connect is not safe to race from threads (they
        # get no session).
        _start_user(0, contents)
        with ThreadPoolExecutor(SEED_THREADS) as pool:
            list(pool.map(lambda u: _start_user(u, contents), range(1, users)))  # raises errors
    else:
        with transaction.atomic():
            for u in range(users):
                _start_user(u, contents)
    print(f"seeded {users * contents} started views ({users} users x {contents} contents)")


def _counts_cassandra(users: int) -> tuple[int, int]:
    from consumption.selectors import view_read

    total = updated = 0
    for u in range(users):
        rows = view_read(
            user_id=user_id(u), content_ids=None, collection_id=COLLECTION_ID, context_id=CONTEXT_ID
        )
        total += len(rows)
        updated += sum(1 for row in rows if row.progress_details is not None)
    return total, updated


def verify(users: int, contents: int) -> int:
    from django.conf import settings

    from consumption.models import ConsumptionRecord

    if settings.VIEWER_STORE == "cassandra":
        total, updated = _counts_cassandra(users)
    else:
        rows = ConsumptionRecord.objects.filter(collection_id=COLLECTION_ID, context_id=CONTEXT_ID)
        total = rows.count()
        updated = rows.filter(progress_details__isnull=False).count()
    print(f"rows: {total} (expected {users * contents}), updated by view/update: {updated}")
    return 0 if total == users * contents and updated > 0 else 1


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


def main(argv: list[str]) -> int:
    if argv[1:] == ["drop-keyspace"]:
        django.setup()
        return drop_keyspace()
    if len(argv) != 4 or argv[1] not in ("seed", "verify"):
        print(__doc__, file=sys.stderr)
        return 2
    django.setup()
    users, contents = int(argv[2]), int(argv[3])
    if argv[1] == "seed":
        seed(users, contents)
        return 0
    return verify(users, contents)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
