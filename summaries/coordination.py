"""Per-user serialized, coalescing recomputes (the mechanism behind ``summaries.recompute``).

Redis keys per user, all with the ``{userId}`` hash tag (one Redis Cluster slot):

* ``dirty``  - a set of the user's (collection, context) scopes that need a recompute;
* ``taken``  - the scopes a round took from ``dirty``, kept until the round's recomputes are done:
  a worker killed mid-round leaves them for the redelivered task (acks-late) or the sweep;
* ``queued`` - set (NX, with a TTL) by whoever enqueues the user's task, so a burst of events
  enqueues one task, not one per event;
* ``lock``   - held by the one worker recomputing the user (token, TTL renewed each round);
* ``since``  - a hash: dirty scope -> when it became dirty (epoch ms), for the lag metric.

``mark`` adds scopes to ``dirty`` and enqueues a task only if it set ``queued``. A task takes the
lock (or retries shortly when another worker holds it), then repeats: clear ``queued``, move every
``dirty`` scope to ``taken``, recompute what ``taken`` holds (with any scope a killed worker left
there), clear ``taken`` - until nothing is left. No update is lost: an event that
lands during a round is either popped by the next round, or finds ``queued`` cleared and enqueues
another task. Recomputes read everything from the store, so a retried or duplicated task changes
nothing. A periodic sweep enqueues users whose ``dirty`` (or unlocked ``taken``) set outlived a
lost message.
"""

import json
import time
import uuid
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from django.conf import settings

from modes.policies.base import EnrolmentRef
from viewer import metrics

PREFIX = "viewer:agg"
QUEUED_TTL_SECONDS = 300
LOCK_TTL_MS = 60_000
# Retries of a Redis command that failed to connect: 0.1, 0.2, 0.4, then 0.5 s apart (~3.2 s).
COORDINATION_RETRIES = 8

# Mark one user's scopes dirty (a newly dirty scope records when) and set its queued flag.
# KEYS: dirty, since, queued; ARGV: now (ms), queued TTL (s), scope, scope, ...
# Returns 1 when it set the flag (the caller enqueues the user's task).
_MARK = """
for i = 3, #ARGV do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[1])
  end
end
if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[2]) then return 1 end
return 0
"""
# Clear the queued flag and take every dirty scope (moved to ``taken``, beside what a killed
# round left there) with the time it became dirty ('' when unknown): scope, ms, scope, ms...
# KEYS: dirty, since, taken, queued.
_TAKE_ALL = """
redis.call('DEL', KEYS[4])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SUNIONSTORE', KEYS[3], KEYS[3], KEYS[1])
  redis.call('DEL', KEYS[1])
end
local out = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  out[#out + 1] = member
  out[#out + 1] = redis.call('HGET', KEYS[2], member) or ''
end
return out
"""
# The round is done: forget ``taken`` and the times of scopes not dirty again since, and renew
# the lock if it is still ours. KEYS: dirty, since, taken, lock; ARGV: token, lock TTL (ms).
_DONE = """
for _, member in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('SISMEMBER', KEYS[1], member) == 0 then redis.call('HDEL', KEYS[2], member) end
end
redis.call('DEL', KEYS[3])
if redis.call('GET', KEYS[4]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[4], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _key(kind: str, user_id: str) -> str:
    return f"{PREFIX}:{kind}:{{{user_id}}}"


def _member(scope: EnrolmentRef) -> str:
    return json.dumps([scope.collection_id, scope.context_id])


@cache
def coordinator() -> "Coordinator":
    """The process's coordinator: one Redis client (and connection pool) per process, not one
    per event. redis-py's pool is fork-safe. A failed command is retried for about 3 s (a
    client from a URL has no retry by default): a restarting Redis must not lose the
    recompute a view end or an enrolment schedules."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    return Coordinator(
        redis.Redis.from_url(
            settings.REDIS_URL,
            decode_responses=True,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), COORDINATION_RETRIES),
        )
    )


class Coordinator:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._mark = client.register_script(_MARK)
        self._take_all = client.register_script(_TAKE_ALL)
        self._done = client.register_script(_DONE)
        self._release = client.register_script(_RELEASE)

    def mark(self, scopes: Iterable[EnrolmentRef]) -> list[str]:
        """Record scopes as dirty; the users whose task the caller must now enqueue."""
        by_user: dict[str, set[str]] = {}
        for scope in scopes:
            by_user.setdefault(scope.user_id, set()).add(_member(scope))
        if not by_user:
            return []
        now_ms = int(time.time() * 1000)
        calls = [
            (
                [_key("dirty", user_id), _key("since", user_id), _key("queued", user_id)],
                [now_ms, QUEUED_TTL_SECONDS, *members],
            )
            for user_id, members in by_user.items()
        ]
        if len(calls) == 1:  # the usual case: one round trip (a pipeline checks its scripts first)
            keys, args = calls[0]
            replies = [self._mark(keys=keys, args=args)]
        else:
            pipe = self.client.pipeline(transaction=False)
            for keys, args in calls:
                self._mark(keys=keys, args=args, client=pipe)
            replies = pipe.execute()
        enqueue = [user for user, reply in zip(by_user, replies, strict=True) if reply]
        if enqueue:
            metrics.child(metrics.RECOMPUTES_QUEUED, "event").inc(len(enqueue))
        if len(enqueue) < len(by_user):
            metrics.RECOMPUTES_COALESCED.inc(len(by_user) - len(enqueue))
        return enqueue

    def run(self, user_id: str, recompute: Callable[[EnrolmentRef], Any]) -> int | None:
        """Recompute every dirty scope of the user, round after round, under the user's lock.

        Returns the number of recomputes, or None when another worker holds the lock. When
        ``recompute`` returns something (a summary was written), the lag from the scope's
        becoming dirty is observed (``viewer_summary_lag_seconds``).
        """
        lock, token = _key("lock", user_id), uuid.uuid4().hex
        if not self.client.set(lock, token, nx=True, px=LOCK_TTL_MS):
            metrics.RECOMPUTE_LOCK_BUSY.inc()
            return None
        done = 0
        try:
            keys = [_key(kind, user_id) for kind in ("dirty", "since", "taken")]
            while True:
                popped = self._take_all(keys=[*keys, _key("queued", user_id)])
                if not popped:
                    return done
                for member, since in sorted(zip(popped[::2], popped[1::2], strict=True)):
                    collection_id, context_id = json.loads(member)
                    written = recompute(EnrolmentRef(user_id, collection_id, context_id))
                    done += 1
                    if written is not None and since:
                        metrics.SUMMARY_LAG.observe(max(0.0, time.time() - int(since) / 1000))
                self._done(keys=[*keys, lock], args=[token, LOCK_TTL_MS])
        finally:
            self._release(keys=[lock], args=[token])

    def dirty_scopes(self, user_id: str) -> list[list[str]]:
        """The user's scopes waiting for a recompute: [[collection, context], ...]."""
        return [json.loads(m) for m in self.client.smembers(_key("dirty", user_id))]

    def stale_users(self) -> list[str]:
        """Users with dirty scopes and no task queued (a lost message), or with scopes a killed
        worker took and left (``taken`` without a lock holder): the sweep's work."""
        users: dict[str, None] = {}
        for kind in ("dirty", "taken"):
            for key in self.client.scan_iter(match=f"{PREFIX}:{kind}:*", count=500):
                user_id = key[len(f"{PREFIX}:{kind}:{{") : -1]
                if user_id in users or (
                    kind == "taken" and self.client.exists(_key("lock", user_id))
                ):
                    continue
                if self.client.set(_key("queued", user_id), "1", nx=True, ex=QUEUED_TTL_SECONDS):
                    users[user_id] = None
        return list(users)
