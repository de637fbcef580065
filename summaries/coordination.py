"""Per-user serialized, coalescing recomputes (the mechanism behind ``summaries.recompute``).

Three Redis keys per user, all with the ``{userId}`` hash tag (one Redis Cluster slot):

* ``dirty``  - a set of the user's (collection, context) scopes that need a recompute;
* ``queued`` - set (NX, with a TTL) by whoever enqueues the user's task, so a burst of events
  enqueues one task, not one per event;
* ``lock``   - held by the one worker recomputing the user (token, TTL renewed each round).

``mark`` adds scopes to ``dirty`` and enqueues a task only if it set ``queued``. A task takes the
lock (or retries shortly when another worker holds it), then repeats: clear ``queued``, pop every
``dirty`` scope, recompute them - until ``dirty`` is empty. No update is lost: an event that
lands during a round is either popped by the next round, or finds ``queued`` cleared and enqueues
another task. Recomputes read everything from the store, so a retried or duplicated task changes
nothing. A periodic sweep enqueues users whose ``dirty`` set outlived a lost message.
"""

import json
import uuid
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.conf import settings

from modes.policies.base import EnrolmentRef

PREFIX = "viewer:agg"
QUEUED_TTL_SECONDS = 300
LOCK_TTL_MS = 60_000

_POP_ALL = """
local members = redis.call('SMEMBERS', KEYS[1])
redis.call('DEL', KEYS[1])
return members
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def _key(kind: str, user_id: str) -> str:
    return f"{PREFIX}:{kind}:{{{user_id}}}"


def _member(scope: EnrolmentRef) -> str:
    return json.dumps([scope.collection_id, scope.context_id])


@cache
def coordinator() -> "Coordinator":
    """The process's coordinator: one Redis client (and connection pool) per process, not one
    per event. redis-py's pool is fork-safe."""
    import redis

    return Coordinator(redis.Redis.from_url(settings.REDIS_URL, decode_responses=True))


class Coordinator:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._pop_all = client.register_script(_POP_ALL)
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)

    def mark(self, scopes: Iterable[EnrolmentRef]) -> list[str]:
        """Record scopes as dirty; the users whose task the caller must now enqueue."""
        by_user: dict[str, set[str]] = {}
        for scope in scopes:
            by_user.setdefault(scope.user_id, set()).add(_member(scope))
        if not by_user:
            return []
        pipe = self.client.pipeline(transaction=False)
        for user_id, members in by_user.items():
            pipe.sadd(_key("dirty", user_id), *members)
            pipe.set(_key("queued", user_id), "1", nx=True, ex=QUEUED_TTL_SECONDS)
        replies = pipe.execute()
        return [user for i, user in enumerate(by_user) if replies[2 * i + 1]]

    def run(self, user_id: str, recompute: Callable[[EnrolmentRef], Any]) -> int | None:
        """Recompute every dirty scope of the user, round after round, under the user's lock.

        Returns the number of recomputes, or None when another worker holds the lock.
        """
        lock, token = _key("lock", user_id), uuid.uuid4().hex
        if not self.client.set(lock, token, nx=True, px=LOCK_TTL_MS):
            return None
        done = 0
        try:
            while True:
                self.client.delete(_key("queued", user_id))
                members = self._pop_all(keys=[_key("dirty", user_id)])
                if not members:
                    return done
                for member in sorted(members):
                    collection_id, context_id = json.loads(member)
                    recompute(EnrolmentRef(user_id, collection_id, context_id))
                    done += 1
                self._renew(keys=[lock], args=[token, LOCK_TTL_MS])
        finally:
            self._release(keys=[lock], args=[token])

    def dirty_scopes(self, user_id: str) -> list[list[str]]:
        """The user's scopes waiting for a recompute: [[collection, context], ...]."""
        return [json.loads(m) for m in self.client.smembers(_key("dirty", user_id))]

    def stale_users(self) -> list[str]:
        """Users with dirty scopes and no task queued (a lost message): the sweep's work."""
        users = []
        for key in self.client.scan_iter(match=f"{PREFIX}:dirty:*", count=500):
            user_id = key[len(f"{PREFIX}:dirty:{{") : -1]
            if self.client.set(_key("queued", user_id), "1", nx=True, ex=QUEUED_TTL_SECONDS):
                users.append(user_id)
        return users
