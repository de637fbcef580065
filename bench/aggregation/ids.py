"""Identifiers of the aggregation benchmark's catalogue and users (shared by the seeding and the
driver; no Django imports)."""

COLLECTION_ID = "do_agg_collection_0001"
CONTEXT_ID = "agg_batch_0001"
UNITS = 2


def leaf_id(index: int) -> str:
    return f"do_agg_leaf_{index:03d}"


def unit_id(index: int) -> str:
    return f"do_agg_unit_{index:02d}"


def user_id(index: int) -> str:
    """A measured user."""
    return f"agg-user-{index:05d}"


def warm_user_id(index: int) -> str:
    """A warm-up user (never one of the measured users)."""
    return f"agg-warm-{index:05d}"


def leaves(count: int) -> list[str]:
    return [leaf_id(i) for i in range(count)]


def collection_children(count: int) -> list[dict[str, object]]:
    """The collection's tree: UNITS units (modules), the leaves dealt out between them in order."""
    ids = leaves(count)
    per_unit = -(-count // UNITS)
    return [
        {
            "identifier": unit_id(u),
            "children": [{"identifier": leaf} for leaf in ids[u * per_unit : (u + 1) * per_unit]],
        }
        for u in range(UNITS)
        if ids[u * per_unit : (u + 1) * per_unit]
    ]
