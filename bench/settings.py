"""Settings for ``make bench``: production-like (DEBUG off, no debug toolbar, same middleware,
parsers and renderers) but servable on loopback over plain http (no SSL redirect, no HSTS).

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
