"""gunicorn settings for bench/run.sh (passed with ``--config``).

``post_worker_init``: on VIEWER_STORE=cassandra with threaded workers (the experiment
BENCH_WORKER_CLASS=gthread), connect the worker's Cassandra session before it serves. The
driver's lazy connect is not safe to race: cqlengine's ``handle_lazy_connect`` clears its flag
before ``setup()`` has made the session, so threads arriving meanwhile get no session (an
AttributeError, a 500). Sync workers (the service's configuration) serve one request at a time
and connect on first use, as in production.
"""

from typing import Any


def post_worker_init(worker: Any) -> None:
    from django.conf import settings

    if settings.VIEWER_STORE == "cassandra" and worker.cfg.threads > 1:
        from viewer import cql

        cql.ping()
