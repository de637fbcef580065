"""Measurement hooks of the aggregation benchmark; the service's code is not changed.

* ``before_task_publish`` (connected in gunicorn's workers by ``gunicorn_conf.py`` and in the
  Celery workers by ``--include bench.aggregation.probe``): stamps every task message with the
  wall-clock time it was published (header ``bench_sent_at``).
* ``task_prerun`` / ``task_postrun`` (Celery workers): one JSON record per task execution,
  pushed to the Redis list ``bench:agg:tasks`` (settings.REDIS_URL):
  ``{"n": task name, "u": first argument (the user id), "p": published, "b": began, "e": ended,
  "s": state (SUCCESS, RETRY, FAILURE), "r": the integer result}``. For ``summaries.recompute``
  the result is the number of summary recomputes the task ran (0 when a previous task already
  took the user's dirty scopes), so the records count recomputes exactly.

* ``summary_recompute`` as the recompute task calls it (``summaries.tasks.summary_recompute``,
  wrapped in each worker process before its first task; the function itself is not changed):
  one record per summary written, ``{"n": "recompute", "u": user, "b": called, "e": returned,
  "c": [the contents the summary shows at status 2]}``. It returns once the summary is wholly
  written (user_activity_agg, then the enrolment's progress), so the first record of a user whose
  ``c`` holds a content is the moment the summary shows that view end: the driver takes the lag
  of every view end from these, without reading the store.

One RPUSH per task or recompute (~0.1 ms) against tasks of several milliseconds.
"""

import contextlib
import json
import os
import time
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

HEADER = "bench_sent_at"
RECORDS = "bench:agg:tasks"

RECOMPUTE = "recompute"

_began: dict[str, float] = {}
_client: tuple[int, Any] | None = None
_wrapped = False


def _redis() -> Any:
    """A client per process (prefork children must not share the parent's sockets)."""
    global _client
    if _client is None or _client[0] != os.getpid():
        import redis
        from django.conf import settings

        _client = (os.getpid(), redis.Redis.from_url(settings.REDIS_URL))
    return _client[1]


@before_task_publish.connect
def stamp_published(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None:
        headers[HEADER] = time.time()


def _push(record: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):  # measurement must never fail a task
        _redis().rpush(RECORDS, json.dumps(record))


def _wrap_summary_recompute() -> None:
    global _wrapped
    from summaries import tasks

    original = tasks.summary_recompute

    def recorded(**kwargs: Any) -> Any:
        called = time.time()
        result = original(**kwargs)
        if result is not None:
            shown = [content for content, status in result.content_status.items() if status == 2]
            _push(
                {"n": RECOMPUTE, "u": kwargs["user_id"], "b": called, "e": time.time(), "c": shown}
            )
        return result

    tasks.summary_recompute = recorded
    _wrapped = True


@task_prerun.connect
def note_began(task_id: str | None = None, **kwargs: Any) -> None:
    if not _wrapped:
        _wrap_summary_recompute()
    if task_id is not None:
        _began[task_id] = time.time()


@task_postrun.connect
def record_task(
    task_id: str | None = None,
    task: Any = None,
    args: Any = None,
    retval: Any = None,
    state: str | None = None,
    **kwargs: Any,
) -> None:
    ended = time.time()
    began = _began.pop(task_id or "", ended)
    published = None
    if task is not None:
        published = getattr(task.request, HEADER, None)
        if published is None:
            published = (getattr(task.request, "headers", None) or {}).get(HEADER)
    record = {
        "n": getattr(task, "name", "?"),
        "u": args[0] if args else None,
        "p": published,
        "b": began,
        "e": ended,
        "s": state,
        "r": retval if isinstance(retval, int) and not isinstance(retval, bool) else None,
    }
    _push(record)
