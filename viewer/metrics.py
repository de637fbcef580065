"""Prometheus metrics (prometheus-client): what the service does, scraped at ``GET /metrics``.

Several processes (gunicorn workers, Celery prefork children) each count their own; with
``PROMETHEUS_MULTIPROC_DIR`` set before the process starts, every process writes its values to
files in that directory and a scrape sums them (prometheus-client's multiprocess mode). The
directory is emptied when the gunicorn master starts (``config/gunicorn.py``), and a dead
worker's live gauges are dropped (``mark_process_dead``). Without it (``manage.py runserver``,
tests) the values live in the process.

Hot-path cost: a labelled child is looked up once and kept (``_children``), so a request pays a
few increments of a float (a memory-mapped one in multiprocess mode), microseconds.
"""

import inspect
import os
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if _MULTIPROC_DIR:  # prometheus-client opens its files there as metrics are made
    os.makedirs(_MULTIPROC_DIR, exist_ok=True)

from prometheus_client import (  # noqa: E402 - after the directory exists
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

# Seconds. Requests and store calls are usually a few ms; recomputes tens of ms; the lag to a
# summary spans a worker backlog.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
RECOMPUTE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

HTTP_REQUESTS = Counter(
    "viewer_http_requests",
    "HTTP requests by endpoint (URL route name), method and status.",
    ["endpoint", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "viewer_http_request_duration_seconds",
    "Time from the request's arrival to its response, by endpoint and method.",
    ["endpoint", "method"],
    buckets=REQUEST_BUCKETS,
)
STORE_SECONDS = Histogram(
    "viewer_store_call_duration_seconds",
    "Calls to the storage components (viewer/storage.py) by backend, repository and operation.",
    ["backend", "repository", "operation"],
    buckets=STORE_BUCKETS,
)
STORE_ERRORS = Counter(
    "viewer_store_call_errors",
    "Store calls that raised (an unreachable store answers 503), by backend, repository and "
    "operation.",
    ["backend", "repository", "operation"],
)
LWT_NOT_APPLIED = Counter(
    "viewer_cassandra_lwt_not_applied",
    "Cassandra lightweight transactions answered [applied]=false, by operation and reason "
    "(exists: start of a started row; missing: no row, VIEW_NOT_STARTED; completed: the row is "
    "already complete; contended: a concurrent writer raised a column first, retried).",
    ["operation", "reason"],
)
VIEW_NOT_STARTED = Counter(
    "viewer_view_not_started",
    "View updates and ends refused with VIEW_NOT_STARTED (the row did not exist), by operation.",
    ["operation"],
)
STATUS_MAP_LOOKUPS = Counter(
    "viewer_status_map_lookups",
    "Redis content-status maps looked up by view reads: hit (the map exists) or miss.",
    ["result"],
)
STATUS_MAP_RELOADS = Counter(
    "viewer_status_map_reloads",
    "Missing Redis content-status maps reloaded from the rows a read returned.",
)
STATUS_MAP_FALLBACKS = Counter(
    "viewer_status_map_fallbacks",
    "Status-map operations that fell back to the store because Redis failed, by operation.",
    ["operation"],
)
RECOMPUTES_QUEUED = Counter(
    "viewer_recomputes_queued",
    "Recompute tasks enqueued (one per user per burst of events), by source (event, sweep).",
    ["source"],
)
RECOMPUTES_COALESCED = Counter(
    "viewer_recomputes_coalesced",
    "Events whose user already had a recompute task queued: no new task, the queued one "
    "recomputes their scopes too.",
)
RECOMPUTE_LOCK_BUSY = Counter(
    "viewer_recompute_lock_busy",
    "Recompute tasks retried because another worker held the user's lock.",
)
RECOMPUTES_RUNNING = Gauge(
    "viewer_recomputes_running",
    "Summary recomputes running now.",
    multiprocess_mode="livesum",
)
RECOMPUTE_SECONDS = Histogram(
    "viewer_recompute_duration_seconds",
    "Duration of one summary recompute, by outcome (written, skipped: no enrolment or "
    "collection, error).",
    ["outcome"],
    buckets=RECOMPUTE_BUCKETS,
)
SUMMARY_LAG = Histogram(
    "viewer_summary_lag_seconds",
    "From the event that made a summary stale (view end, attempt, enrolment: the time it was "
    "scheduled) to the recompute that wrote the summary showing it.",
    buckets=LAG_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "viewer_webhook_deliveries",
    "collection.completed webhook delivery attempts by outcome (delivered; retried: failed, "
    "will be retried; failed: failed and out of retries).",
    ["outcome"],
)
TASK_SECONDS = Histogram(
    "viewer_task_duration_seconds",
    "Celery tasks by task name and outcome (success, failure, retry; error: an eager task "
    "raised into the request that ran it).",
    ["task", "outcome"],
    buckets=RECOMPUTE_BUCKETS,
)

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_children: dict[tuple[Any, ...], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per process (labels() validates and locks)."""
    key = (metric, *labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def observe_request(*, endpoint: str, method: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "OTHER"  # no label per invented method
    child(HTTP_REQUESTS, endpoint, method, str(status)).inc()
    child(HTTP_SECONDS, endpoint, method).observe(seconds)


def timed_class(cls: type, *, backend: str, repository: str) -> type:
    """A subclass of ``cls`` whose public methods time every call into
    ``viewer_store_call_*``. A subclass rather than a proxy: ``isinstance`` and patching the
    class keep working, and a call pays two clock reads and one observation, no lookup.
    Generators (paged scans) are left as they are."""
    namespace: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    for klass in reversed(cls.__mro__[:-1]):
        for name, value in vars(klass).items():
            if name.startswith("_") or not inspect.isfunction(value):
                continue  # private helpers, static and class methods, attributes
            if inspect.isgeneratorfunction(value):
                namespace.pop(name, None)
                continue
            namespace[name] = _timed(
                value,
                child(STORE_SECONDS, backend, repository, name),
                child(STORE_ERRORS, backend, repository, name),
            )
    return type(cls.__name__, (cls,), namespace)


def _timed(function: Callable[..., Any], histogram: Any, errors: Any) -> Callable[..., Any]:
    clock = time.perf_counter

    @wraps(function)
    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return function(self, *args, **kwargs)
        except Exception:
            errors.inc()
            raise
        finally:
            histogram.observe(clock() - started)

    return timed


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def registry() -> Any:
    """What a scrape reads: every process's files in multiprocess mode, else this process."""
    if multiprocess_dir():
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


def exposition() -> tuple[bytes, str]:
    """The Prometheus text exposition and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Drop a dead process's live gauges (its counters and histograms are kept)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


def serve(*, port: int, addr: str) -> None:
    """Serve this process group's metrics on a port of its own (a Celery worker's)."""
    start_http_server(port, addr=addr, registry=registry())
