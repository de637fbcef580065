"""A task for the real-worker tests of tests/test_shutdown.py (loaded by the workers with
``--include``): it notes in Redis when it starts (with its process id) and when it is done; its
first run takes ``seconds``, a run again (a redelivery) is quick. It keeps the configured
acknowledgement settings: what is tested is the configuration."""

import os
import time

import redis
from celery import shared_task
from django.conf import settings


@shared_task(name="tests.slow_task")
def slow_task(token: str, seconds: float) -> None:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    first = client.rpush(f"slow:{token}", f"start:{os.getpid()}") == 1
    time.sleep(seconds if first else 0.1)
    client.rpush(f"slow:{token}", "done")
