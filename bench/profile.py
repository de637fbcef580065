"""Where the time of one request goes, in-process (no server, no wrk): cProfile over N requests
of one endpoint through Django's WSGI handler, closing each response like gunicorn does (so
per-request connection handling is included).

    python -m bench.profile [update|read|bare] [N]

Uses a fresh SQLite database in a temporary directory (migrated and seeded like bench/run.sh).
"""

import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from typing import Any

BODIES = {
    "bare": ("/bench/bare", "update"),
    "update": ("/v1/view/update", "update"),
    "read": ("/v1/view/read", "read"),
}


def body(kind: str, k: int, users: int, contents: int) -> bytes:
    from bench.seed import COLLECTION_ID, CONTEXT_ID, content_id, user_id

    u, c = k % users, (k // users) % contents
    key = f'"userId":"{user_id(u)}","collectionId":"{COLLECTION_ID}","contextId":"{CONTEXT_ID}"'
    envelope = f'"ver":"v1","params":{{"msgid":"00000000-0000-4000-8000-{k:012x}"}}'
    if kind == "read":
        pair = f'"{content_id(c)}","{content_id((c + 1) % contents)}"'
        read = f'{{"id":"api.view.read",{envelope},"request":{{{key},"contentId":[{pair}]}}}}'
        return read.encode()
    return (
        f'{{"id":"api.view.update",{envelope},"request":{{{key},"contentId":"{content_id(c)}",'
        f'"progress":{k % 101},"progressDetails":{{"position":{k * 37 % 3600},"page":{k % 40 + 1},'
        '"mimeType":"application/pdf"}}}'
    ).encode()


def call(app: Callable[..., Iterable[bytes]], path: str, data: bytes, token: str = "") -> str:
    status: list[str] = []

    def start_response(s: str, headers: Any, exc_info: Any = None) -> None:
        status.append(s)

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    result = app(environ, start_response)
    b"".join(result)
    close = getattr(result, "close", None)
    if close is not None:
        close()  # fires request_finished: Django closes the DB connection (CONN_MAX_AGE)
    return status[0]


def main(argv: list[str]) -> int:
    kind = argv[1] if len(argv) > 1 else "update"
    n = int(argv[2]) if len(argv) > 2 else 2000
    users, contents = 1000, 4
    tmp = tempfile.mkdtemp(prefix="viewer-profile.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"

    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    call_command("migrate", verbosity=0)
    from bench.seed import seed

    seed(users, contents)
    from viewer.auth import issue

    token = issue(user_id="bench-service", role="service")  # as bench/run.sh sends
    path, shape = BODIES[kind]
    bodies = [body(shape, k, users, contents) for k in range(n)]
    for data in bodies[:200]:  # warm-up
        assert call(app, path, data, token).startswith("200"), call(app, path, data, token)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for data in bodies:
        call(app, path, data, token)
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"{kind}: {n} requests, {elapsed / n * 1e3:.3f} ms each under cProfile")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(45)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
