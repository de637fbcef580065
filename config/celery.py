"""The Celery application.

Tasks are Django-aware (``DjangoTask``): ``delay_on_commit`` enqueues only once the surrounding
transaction commits. With no broker configured (the embedded default) tasks run eagerly, in-process.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("viewer", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _reconnect_after_fork(**kwargs: Any) -> None:
    """A prefork child must not reuse the parent's Cassandra sockets and driver threads."""
    from viewer import cql

    cql.reconnect()
