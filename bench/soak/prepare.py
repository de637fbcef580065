"""The fault soak's catalogue (Django settings from the environment; no broker configured).

    python -m bench.soak.prepare seed
        one collection (ids.UNITS: two units of three leaves, one of them an assessment each)
        and two open batch contexts that both hold it; the users enrol during the soak

The keyspace and the workers are the aggregation benchmark's commands
(``python -m bench.aggregation.prepare drop-keyspace | wait-workers``).
"""

import sys
from datetime import UTC, datetime

import django

from . import ids


def seed() -> int:
    from viewer.services import collection_put, context_put

    collection = collection_put(
        identifier=ids.COLLECTION_ID,
        data={
            "name": "Fault soak course",
            "description": "bench/soak",
            "children": ids.collection_children(),
        },
    )
    assert tuple(collection.leaves) == ids.LEAVES, collection.leaves
    for number, context_id in enumerate(ids.CONTEXT_IDS, start=1):
        context_put(
            identifier=context_id,
            data={
                "type": "batch",
                "name": f"Fault soak batch {number}",
                "collectionIds": [ids.COLLECTION_ID],
                "startDate": datetime(2020, 1, 1, tzinfo=UTC),
            },
        )
    print(
        f"seeded collection {ids.COLLECTION_ID} ({len(ids.LEAVES)} leaves, "
        f"{len(ids.ASSESSMENTS)} assessments) in contexts {', '.join(ids.CONTEXT_IDS)}"
    )
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["seed"]:
        django.setup()
        return seed()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
