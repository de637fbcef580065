"""gunicorn settings for production: ``gunicorn config.wsgi -c config/gunicorn.py``.

Command-line options win over these. Metrics: every worker process writes its values to
``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory when unset), which is emptied when the
master starts; a worker that exits has its live gauges dropped; ``GET /metrics`` on any worker
sums them all (viewer/metrics.py).
"""

import os
import tempfile
from typing import Any

# Set here, in the master, before any worker imports prometheus-client: workers inherit it.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="viewer-metrics-")

bind = ["0.0.0.0:8000"]
# Sync workers, one per core: on 2 cores, 2 (bench/: more gain nothing).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
graceful_timeout = 30
# Each request writes its own line (viewer/logs.py); gunicorn's access log would repeat it.
accesslog = None


def on_starting(server: Any) -> None:
    """Empty the directory: values of an earlier run must not be summed in."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
