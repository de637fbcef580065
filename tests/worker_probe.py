"""A task for the real-worker tests (loaded by the workers with ``--include``): the production
coordination (summaries.coordination) around a probe that records when each recompute ran."""

import json
import time
from typing import Any

from celery import shared_task

from modes.policies.base import EnrolmentRef
from summaries.coordination import coordinator as shared_coordinator


@shared_task(bind=True, name="tests.probe_recompute", acks_late=True, max_retries=None)
def probe_recompute(self: Any, user_id: str) -> int:
    coordinator = shared_coordinator()

    def probe(scope: EnrolmentRef) -> None:
        started = time.time()
        time.sleep(0.02)
        coordinator.client.rpush(
            f"probe:{user_id}",
            json.dumps({"scope": scope.collection_id, "start": started, "end": time.time()}),
        )

    done = coordinator.run(user_id, probe)
    if done is None:
        raise self.retry(countdown=0.05)
    return done
