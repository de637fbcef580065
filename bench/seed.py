"""Seed and check the bench database (run with DJANGO_SETTINGS_MODULE=bench.settings).

    python -m bench.seed seed USERS CONTENTS    start a view of every (user, content)
    python -m bench.seed verify USERS CONTENTS  every seeded row exists and was updated

The identifiers must match the ones bench/common.lua sends.
"""

import sys

import django

COLLECTION_ID = "do_21369999999999990001"
CONTEXT_ID = "01369999999999990001"


def user_id(index: int) -> str:
    return f"user-{index:06d}"


def content_id(index: int) -> str:
    return f"do_2137000000000000{index:06d}"


def seed(users: int, contents: int) -> None:
    from django.db import transaction

    from consumption.services import view_start
    from viewer.identifiers import ViewTarget

    # Through the service, so the rows get exactly the keys the active mode policy gives them.
    with transaction.atomic():
        for u in range(users):
            for c in range(contents):
                view_start(target=ViewTarget(user_id(u), content_id(c), COLLECTION_ID, CONTEXT_ID))
    print(f"seeded {users * contents} started views ({users} users x {contents} contents)")


def verify(users: int, contents: int) -> int:
    from consumption.models import ConsumptionRecord

    rows = ConsumptionRecord.objects.filter(collection_id=COLLECTION_ID, context_id=CONTEXT_ID)
    total = rows.count()
    updated = rows.filter(progress_details__isnull=False).count()
    print(f"rows: {total} (expected {users * contents}), updated by view/update: {updated}")
    return 0 if total == users * contents and updated > 0 else 1


def main(argv: list[str]) -> int:
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
