"""The Celery application.

Tasks are Django-aware (``DjangoTask``): ``delay_on_commit`` enqueues only once the surrounding
transaction commits. With no broker configured (the embedded default) tasks run eagerly, in-process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("viewer", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
