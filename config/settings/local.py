"""Local development: the embedded default (SQLite, eager tasks), loopback hosts.

DEBUG stays off unless DJANGO_DEBUG=true, so errors (an unknown URL included) answer in the API
envelope as in production; ``make run`` serves the admin's static files with ``--insecure``.
"""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="local-insecure-development-key-not-for-production"
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# Without VIEWER_JWT_SECRET / VIEWER_JWT_PUBLIC_KEYS, a signing secret is created here on first use.
VIEWER_JWT_LOCAL_KEY_FILE = str(BASE_DIR / ".local" / "jwt-secret")  # noqa: F405
# GET /metrics answers without a token here (DESIGN: open locally, a service token elsewhere).
VIEWER_METRICS_PUBLIC = env.bool("VIEWER_METRICS_PUBLIC", default=True)
