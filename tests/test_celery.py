"""With no broker configured, tasks run eagerly, in-process, after the request's commit."""

from typing import Any

from django.conf import settings
from django.db import transaction

from config.celery import app

ran: list[str] = []


@app.task(name="tests.record")
def record(value: str) -> None:
    ran.append(value)


def test_celery_runs_eagerly_after_commit_without_a_broker(
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert settings.CELERY_BROKER_URL == ""
    ran.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record.delay_on_commit("x")
        assert ran == []
    assert ran == ["x"]
