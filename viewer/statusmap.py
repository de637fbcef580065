"""The content-status map: the read-after-write source of a content's status.

Writes raise a content's status in the request that changed its row; reads take the higher of
the map's status and the store's (a status never decreases, so the higher one is right). The
embedded default keeps no separate map: the store rows are the map.
"""

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol

from . import metrics
from .identifiers import ConsumptionKey, Scope

logger = logging.getLogger(__name__)


class ContentStatusMap(Protocol):
    def raise_status(self, *, key: ConsumptionKey, status: int) -> None:
        """Raise the status of ``key`` to ``status``; never lowers it."""

    def statuses(
        self, *, keys: Sequence[ConsumptionKey], stored: Mapping[ConsumptionKey, int]
    ) -> dict[ConsumptionKey, int]:
        """The status of each key, given the statuses the store returned for them."""

    def forget_scope(self, *, scope: Scope) -> None:
        """Drop the map of ``scope`` (rows of it were deleted, moved away or archived): the next
        read reloads it from the store, so no deleted row's status outlives it."""

    def ping(self) -> None:
        """Raise if the map cannot be reached."""


class StoreStatusMap:
    """The embedded default: statuses come straight from the store."""

    def forget_scope(self, *, scope: Scope) -> None:
        return None

    def ping(self) -> None:
        return None

    def raise_status(self, *, key: ConsumptionKey, status: int) -> None:
        return None

    def statuses(
        self, *, keys: Sequence[ConsumptionKey], stored: Mapping[ConsumptionKey, int]
    ) -> dict[ConsumptionKey, int]:
        return {key: stored.get(key, 0) for key in keys}


# Raise fields of one hash to the given statuses (never lower) and refresh its expiry.
# KEYS[1] = hash; ARGV[1] = ttl (ms); ARGV[2..] = field, status, field, status, ...
_RAISE_LUA = """
for i = 2, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > current then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


def map_key(user_id: str, collection_id: str, context_id: str) -> str:
    """One hash per (user, collection, context). The ``{user}`` hash tag keeps one user's maps in
    one Redis Cluster slot; the collection's length keeps ids containing ``:`` unambiguous."""
    return f"viewer:cs:{{{user_id}}}:{len(collection_id)}:{collection_id}:{context_id}"


class RedisStatusMap:
    """Statuses in Redis hashes, written in the request that changed the row.

    Redis down: writes still land in the store (the caller wrote it first) and reads use the
    store's statuses; both are logged. Never a wrong status: a read takes the higher of the
    map and the store.
    """

    def __init__(self) -> None:
        import redis
        from django.conf import settings

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=settings.REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=settings.REDIS_TIMEOUT_SECONDS,
        )
        self._ttl_ms = settings.VIEWER_STATUS_MAP_TTL_SECONDS * 1000
        self._raise = self._client.register_script(_RAISE_LUA)

    def raise_status(self, *, key: ConsumptionKey, status: int) -> None:
        try:
            self._raise(
                keys=[map_key(key.user_id, key.collection_id, key.context_id)],
                args=[self._ttl_ms, key.content_id, int(status)],
            )
        except self._errors as exc:
            metrics.child(metrics.STATUS_MAP_FALLBACKS, "raise").inc()
            logger.warning("status map write skipped, Redis unavailable: %s", type(exc).__name__)

    def forget_scope(self, *, scope: Scope) -> None:
        try:
            self._client.delete(map_key(scope.user_id, scope.collection_id, scope.context_id))
        except self._errors as exc:
            metrics.child(metrics.STATUS_MAP_FALLBACKS, "forget").inc()
            # The map may show the deleted row's status until it expires; logged loudly.
            logger.error("status map entry not removed, Redis unavailable: %s", type(exc).__name__)

    def statuses(
        self, *, keys: Sequence[ConsumptionKey], stored: Mapping[ConsumptionKey, int]
    ) -> dict[ConsumptionKey, int]:
        result = {key: stored.get(key, 0) for key in keys}
        groups: dict[str, list[ConsumptionKey]] = defaultdict(list)
        for key in keys:
            groups[map_key(key.user_id, key.collection_id, key.context_id)].append(key)
        if not groups:
            return result
        try:
            pipe = self._client.pipeline(transaction=False)
            for name, members in groups.items():
                pipe.exists(name)
                pipe.hmget(name, [member.content_id for member in members])
            replies = pipe.execute()
            reloads = []
            hits = 0
            for index, (name, members) in enumerate(groups.items()):
                exists, values = replies[2 * index], replies[2 * index + 1]
                hits += 1 if exists else 0
                for member, value in zip(members, values, strict=True):
                    if value is not None:
                        result[member] = max(result[member], int(value))
                if not exists:
                    pairs = [(m.content_id, int(stored[m])) for m in members if stored.get(m)]
                    if pairs:
                        reloads.append((name, pairs))
            if hits:
                metrics.child(metrics.STATUS_MAP_LOOKUPS, "hit").inc(hits)
            if hits < len(groups):
                metrics.child(metrics.STATUS_MAP_LOOKUPS, "miss").inc(len(groups) - hits)
            if reloads:
                metrics.STATUS_MAP_RELOADS.inc(len(reloads))
                pipe = self._client.pipeline(transaction=False)
                for name, pairs in reloads:
                    args = [self._ttl_ms, *[v for pair in pairs for v in pair]]
                    self._raise(keys=[name], args=args, client=pipe)
                pipe.execute()
        except self._errors as exc:
            metrics.child(metrics.STATUS_MAP_FALLBACKS, "read").inc()
            logger.warning("status map read fell back to the store: %s", type(exc).__name__)
        return result

    def ping(self) -> None:
        self._client.ping()
