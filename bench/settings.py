"""Settings for ``make bench``: production-like (DEBUG off, no debug toolbar, same middleware,
parsers, renderers and authentication) but servable on loopback over plain http (no SSL redirect,
no HSTS). Authentication stays on as in production: bench/run.sh signs a ``service`` token with
the bench's HS256 secret and wrk sends it with every request (the bare endpoint included).

The database comes from DATABASE_URL as in every environment; bench/run.sh points it at a fresh
SQLite file in a temporary directory.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

SECRET_KEY = "bench-insecure-key-not-for-production"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "bench.urls"
VIEWER_STORE = env.str("VIEWER_STORE", default="sql")
SECURE_SSL_REDIRECT = False
VIEWER_AUTH = env.bool("VIEWER_AUTH", default=True)
VIEWER_JWT_SECRET = env.str(
    "VIEWER_JWT_SECRET", default="bench-insecure-jwt-secret-not-for-production-0123456789"
)
