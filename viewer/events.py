"""Explicit hooks between apps, so that no app imports the apps to its right.

``consumption`` and ``assessments`` announce what happened; ``summaries`` subscribes in its
``AppConfig.ready()``. Announcements are sent only after the surrounding transaction commits, so a
subscriber never sees a write that was rolled back.
"""

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# kwargs: key (viewer.identifiers.ConsumptionKey) - a row of the user reached status 2.
completion_recorded = Signal()
# kwargs: key (ConsumptionKey), assessment_ts (datetime) - an attempt at the content was submitted.
attempt_recorded = Signal()


def announce(signal: Signal, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs))
