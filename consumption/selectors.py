"""View reads: rows from the store, statuses through the content-status map."""

from dataclasses import replace

from modes.selectors import active_policy
from viewer import storage
from viewer.identifiers import ConsumptionKey, ViewTarget

from .domain import Consumption
from .repositories import consumption_repository


def view_read(
    *,
    user_id: str,
    content_ids: list[str] | None,
    collection_id: str | None,
    context_id: str | None,
) -> list[Consumption]:
    """The requested contents (a not-started entry for each one without a row), or with no
    content ids every row of the (collection, context)."""
    policy = active_policy()
    repository = consumption_repository()
    keys: list[ConsumptionKey]
    if content_ids:
        keys = [
            policy.key(ViewTarget(user_id, content_id, collection_id, context_id))
            for content_id in content_ids
        ]
        found = {row.key: row for row in repository.get_many(user_id=user_id, keys=keys)}
        rows = [found.get(key) or Consumption(key=key) for key in keys]
    else:
        assert collection_id is not None  # the API requires contentId or collectionId
        scope = policy.scope(user_id=user_id, collection_id=collection_id, context_id=context_id)
        rows = repository.list_scope(scope=scope)
        keys = [row.key for row in rows]
    statuses = storage.status_map().statuses(
        keys=keys, stored={row.key: row.status for row in rows}
    )
    return [
        row if statuses[row.key] == row.status else replace(row, status=statuses[row.key])
        for row in rows
    ]
