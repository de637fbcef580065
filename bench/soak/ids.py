"""Identifiers of the fault soak's catalogue (shared by the seeding and the driver; no Django)."""

COLLECTION_ID = "do_soak_course_0001"
CONTEXT_IDS = ("soak_batch_0001", "soak_batch_0002")
UNITS = (
    ("do_soak_unit_01", ("do_soak_video_01", "do_soak_video_02", "do_soak_quiz_01")),
    ("do_soak_unit_02", ("do_soak_video_03", "do_soak_video_04", "do_soak_quiz_02")),
)
LEAVES = tuple(leaf for _, leaves in UNITS for leaf in leaves)
# Completed through POST /v1/assessment/submit (the others through view start/update/end).
ASSESSMENTS = frozenset(leaf for leaf in LEAVES if "_quiz_" in leaf)


def user_id(index: int) -> str:
    return f"soak-user-{index:05d}"


def collection_children() -> list[dict[str, object]]:
    return [
        {"identifier": unit, "children": [{"identifier": leaf} for leaf in leaves]}
        for unit, leaves in UNITS
    ]
