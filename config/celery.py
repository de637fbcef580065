"""The Celery application.

Tasks are Django-aware (``DjangoTask``): ``delay_on_commit`` enqueues only once the surrounding
transaction commits. With no broker configured (the embedded default) tasks run eagerly, in-process.

Observability (``viewer.logs``, ``viewer.metrics``): Django's LOGGING also formats the worker's
logs; every task message carries the id of the request that published it; every task (eager ones
too) writes one log line and a duration; with ``VIEWER_METRICS_WORKER_PORT`` the worker serves
its processes' metrics on a port of its own.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)

from viewer import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("viewer", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _reconnect_after_fork(**kwargs: Any) -> None:
    """A prefork child must not reuse the parent's Cassandra sockets and driver threads."""
    from viewer import cql

    cql.reconnect()


before_task_publish.connect(logs.on_before_task_publish, weak=False)
task_prerun.connect(logs.on_task_prerun, weak=False)
task_postrun.connect(logs.on_task_postrun, weak=False)


@setup_logging.connect
def _django_logging(**kwargs: Any) -> None:
    """The worker logs like the web (VIEWER_LOG_FORMAT, VIEWER_LOG_LEVEL), not Celery's way."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@worker_init.connect
def _serve_metrics(**kwargs: Any) -> None:
    from django.conf import settings

    if settings.VIEWER_METRICS_WORKER_PORT:
        from viewer import metrics

        metrics.serve(
            port=settings.VIEWER_METRICS_WORKER_PORT, addr=settings.VIEWER_METRICS_WORKER_ADDR
        )


@worker_process_shutdown.connect
def _process_exited(pid: int | None = None, **kwargs: Any) -> None:
    from viewer import cql, metrics

    metrics.process_exited(pid or os.getpid())
    cql.shutdown()
