"""Settings for the test suite."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-insecure-key"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Every caller is an admin unless a test turns authentication on (tests/test_security.py).
VIEWER_AUTH = env.bool("VIEWER_AUTH", default=False)
VIEWER_CONFIG_CACHE_SECONDS = env.float("VIEWER_CONFIG_CACHE_SECONDS", default=0.0)
VIEWER_CATALOGUE_CACHE_SECONDS = env.float("VIEWER_CATALOGUE_CACHE_SECONDS", default=0.0)

if "cassandra" in DATABASES:  # noqa: F405
    # A keyspace of its own: tests never touch a real one.
    DATABASES["cassandra"]["NAME"] = env.str("CASSANDRA_TEST_KEYSPACE", default="viewer_test")  # noqa: F405
