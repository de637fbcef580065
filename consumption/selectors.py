"""View reads: rows from the store, statuses through the content-status map."""

from dataclasses import replace
from typing import Any

from modes.selectors import active_policy
from viewer import storage, timeutil
from viewer.identifiers import ConsumptionKey, ViewTarget
from viewer.selectors import collection_find

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
        listed = policy.read_contents(collection_find(identifier=collection_id))
        if listed is None:
            scope = policy.scope(
                user_id=user_id, collection_id=collection_id, context_id=context_id
            )
            rows = repository.list_scope(scope=scope)
        else:
            keys = [
                policy.key(ViewTarget(user_id, content_id, collection_id, context_id))
                for content_id in listed
            ]
            rows = repository.get_many(user_id=user_id, keys=keys)
        keys = [row.key for row in rows]
    statuses = storage.status_map().statuses(
        keys=keys, stored={row.key: row.status for row in rows}
    )
    return [
        row if statuses[row.key] == row.status else replace(row, status=statuses[row.key])
        for row in rows
    ]


def _chain(provenance: dict[str, Any] | None) -> list[dict[str, Any]]:
    chain = []
    while provenance:
        chain.append({k: v for k, v in provenance.items() if k != "previous"})
        provenance = provenance.get("previous")
    return chain


def _sentence(status: int, chain: list[dict[str, Any]]) -> str:
    if status == 0:
        return "Not started here."
    if not chain:
        return "Tracked here (no carry-forward)."
    parts = []
    for step in chain:
        source = step["from"]
        day = timeutil.from_ms(step["at"]).date().isoformat() if step.get("at") else "?"
        verb = "copied" if step["action"] == "copy" else "moved"
        parts.append(
            f"{verb} from ({source['collectionId']}, {source['contextId']}, "
            f"{source['contentId']}) on {day} by {step['rule']}"
        )
    sentence = "; before that ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."


def view_explain(*, target: ViewTarget) -> dict[str, Any]:
    """Why a content has the status it has here: the mode, the storage key, the status and
    the provenance chain of a carried row."""
    policy = active_policy()
    key = policy.key(target)
    rows = consumption_repository().get_many(user_id=key.user_id, keys=[key])
    row = rows[0] if rows else Consumption(key=key)
    status = storage.status_map().statuses(keys=[key], stored={key: row.status})[key]
    chain = _chain(row.provenance)
    return {
        "mode": policy.name,
        "key": {
            "userId": key.user_id,
            "collectionId": key.collection_id,
            "contextId": key.context_id,
            "contentId": key.content_id,
        },
        "status": status,
        "provenance": chain,
        "explanation": _sentence(status, chain),
    }
