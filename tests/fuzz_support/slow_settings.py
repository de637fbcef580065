"""Settings of the application gunicorn serves in tests/test_shutdown.py: the test settings
with tests.fuzz_support.slow_urls."""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.fuzz_support.slow_urls"
