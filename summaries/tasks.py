"""Tasks of the summaries app: take ids, call one service, safe to run twice."""

import hashlib
import hmac
import json
import logging
import urllib.request
from typing import Any

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from modes.policies.base import EnrolmentRef
from viewer import metrics, timeutil
from viewer.identifiers import ConsumptionKey

from .services import (
    announcement_done,
    announcement_lease,
    announcements_left,
    completion_followup,
    summary_recompute,
    summary_recompute_observed,
)

logger = logging.getLogger(__name__)

# A webhook retry waits at most this long: below the broker's visibility timeout
# (CELERY_BROKER_TRANSPORT_OPTIONS), which would otherwise deliver the waiting retry twice.
WEBHOOK_RETRY_MAX_SECONDS = 60


@shared_task(name="summaries.completion", acks_late=True)
def completion_task(user_id: str, collection_id: str, context_id: str, content_id: str) -> int:
    """Follow up a completion: carry (copy mode) and schedule the affected recomputes."""
    key = ConsumptionKey(user_id, collection_id, context_id, content_id)
    return len(completion_followup(key=key))


@shared_task(bind=True, name="summaries.recompute", acks_late=True, max_retries=None)
def recompute_user_task(self: Any, user_id: str) -> int:
    """Recompute every dirty scope of one user, never two of the user's at once."""
    from .coordination import coordinator

    def recompute(scope: EnrolmentRef) -> Any:
        # summary_recompute is looked up here, at call time: bench/aggregation/probe.py wraps it.
        return summary_recompute_observed(scope=scope, recompute=summary_recompute)

    done = coordinator().run(user_id, recompute)
    if done is None:  # another worker is recomputing this user: come back right after
        raise self.retry(countdown=0.2)
    return done


@shared_task(name="summaries.sweep")
def sweep_task() -> int:
    """Re-enqueue users whose dirty scopes outlived a lost message, and completions whose
    announcement a crash or a broker outage left in the outbox (celery beat, every minute)."""
    from .coordination import coordinator

    users = coordinator().stale_users()
    for user_id in users:
        recompute_user_task.delay(user_id)
    if users:
        metrics.child(metrics.RECOMPUTES_QUEUED, "sweep").inc(len(users))
    left = announcements_left()
    for ref in left:
        completion_webhooks_task.delay(ref.user_id, ref.collection_id, ref.context_id)
    return len(users) + len(left)


def _signature(body: bytes) -> str:
    secret = settings.VIEWER_WEBHOOK_SECRET.encode()
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@shared_task(name="summaries.completion_webhooks")
def completion_webhooks_task(user_id: str, collection_id: str, context_id: str) -> int:
    """Fan out a collection.completed event: one delivery task per configured URL, by the one
    task that leased its pending announcement (a duplicate of this task sends nothing)."""
    ref = EnrolmentRef(user_id, collection_id, context_id)
    if not announcement_lease(ref=ref):
        return 0
    for url in settings.VIEWER_COMPLETION_WEBHOOKS:
        deliver_webhook_task.delay(
            url, user_id, collection_id, context_id, timeutil.to_ms(timeutil.now())
        )
    announcement_done(ref=ref)
    return len(settings.VIEWER_COMPLETION_WEBHOOKS)


@shared_task(
    bind=True,
    name="summaries.deliver_webhook",
    acks_late=True,
    max_retries=16,
)
def deliver_webhook_task(
    self: Any, url: str, user_id: str, collection_id: str, context_id: str, at_ms: int
) -> int:
    """POST one collection.completed event; retried with backoff. Receivers deduplicate on the
    Idempotency-Key (the same for every retry of one enrolment's completion)."""
    event = {
        "event": "collection.completed",
        "userId": user_id,
        "collectionId": collection_id,
        "contextId": context_id,
        "completedAt": at_ms,
    }
    body = json.dumps(event, sort_keys=True).encode()
    request = urllib.request.Request(  # noqa: S310 - the operator's configured http(s) URL
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": f"collection.completed:{user_id}:{collection_id}:{context_id}",
            "X-Viewer-Signature": _signature(body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status = int(response.status)
    except OSError as exc:  # connection refused, timeout, HTTP error: retry with backoff
        final = self.request.retries >= self.max_retries
        metrics.child(metrics.WEBHOOK_DELIVERIES, "failed" if final else "retried").inc()
        logger.warning(
            "webhook delivery failed (%s), %s",
            type(exc).__name__,
            "out of retries" if final else "retrying",
        )
        # Exponential backoff with full jitter, at most WEBHOOK_RETRY_MAX_SECONDS (the task's
        # retry_backoff options apply only to autoretry_for; a bare retry waits 180 s).
        countdown = get_exponential_backoff_interval(
            factor=1,
            retries=self.request.retries,
            maximum=WEBHOOK_RETRY_MAX_SECONDS,
            full_jitter=True,
        )
        raise self.retry(exc=exc, countdown=countdown) from exc
    metrics.child(metrics.WEBHOOK_DELIVERIES, "delivered").inc()
    return status
