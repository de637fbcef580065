"""Real processes for the operations tests: Celery workers on the suite's Redis and a gunicorn
serving the application with its production configuration (config/gunicorn.py)."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def poll(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """The first truthy value of ``condition()``, polled until ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {timeout} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], *, timeout: float = 20) -> int:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def celery_worker(
    broker: str, name: str, *, pool: str = "prefork", env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A Celery worker (concurrency 1) with the test settings and tests.shutdown_tasks."""
    return subprocess.Popen(  # noqa: S603 - celery from our own virtualenv
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            "1",
            "--include",
            "tests.shutdown_tasks",
            "--hostname",
            f"{name}@%h",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "CELERY_BROKER_URL": broker,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_worker(client: Any, name: str, *, timeout: float = 60) -> None:
    """Until the worker named ``name`` answers a ping."""

    def answered() -> bool:
        replies = client.control.ping(timeout=0.5) or []
        return any(name in hostname for reply in replies for hostname in reply)

    poll(answered, timeout=timeout, what=f"Celery worker {name} answering a ping")


@contextmanager
def running(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """Stops the process (SIGTERM, then SIGKILL) when the block ends."""
    try:
        yield process
    finally:
        stop(process)
