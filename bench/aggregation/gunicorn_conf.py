"""gunicorn settings for bench/aggregation/run.sh (``--config python:...``): each worker stamps
the Celery messages it publishes (the ``summaries.completion`` task of a view end) with their
publication time, so the workers can measure how long they waited in the broker."""

from typing import Any


def post_worker_init(worker: Any) -> None:
    import bench.aggregation.probe  # noqa: F401 - connects the before_task_publish hook
