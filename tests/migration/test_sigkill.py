"""A real kill: ``manage.py migrate_legacy`` in a subprocess, SIGKILLed in the middle of the
enrolments, run again to the end, ends with exactly the tables of an uninterrupted run
(SQL store, a SQLite file of its own; the Cassandra store's resume is tested in-process)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.migration.generate import generate

# No store of the service: the SQL pass runs it once, the Cassandra pass leaves it out.
pytestmark = pytest.mark.store_independent

ROOT = Path(__file__).resolve().parents[2]
# Columns left out: the times of the writes themselves.
TABLES = {
    "user_content_consumption": "last_updated_time",
    "assessment_aggregator": "created_on, updated_on",
    "user_enrolments": "last_updated_time",
    "user_activity_agg": "agg_last_updated",
}


def manage(database: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "VIEWER_STORE": "sql",
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
    }
    env.pop("CASSANDRA_HOSTS", None)
    return subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def prepare(database: Path, export: Path) -> None:
    assert manage(database, "migrate", "-v0").wait() == 0
    with sqlite3.connect(database) as db:
        import json

        for identifier, children in json.loads((export / "catalogue.json").read_text()).items():
            db.execute(
                "INSERT INTO viewer_collectionrecord (identifier, name, description, logo, "
                "children, created_at, updated_at) VALUES (?, ?, '', '', ?, "
                "'2024-01-01 00:00:00', '2024-01-01 00:00:00')",
                (identifier, identifier, json.dumps(children)),
            )


def dump(database: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(database) as db:
        out = {}
        for table, volatile in TABLES.items():
            columns = [
                row[1]
                for row in db.execute(f"PRAGMA table_info({table})")
                if row[1] not in {"id", *volatile.split(", ")}
            ]
            out[table] = sorted(db.execute(f"SELECT {', '.join(columns)} FROM {table}"))
        return out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_migrate_legacy_sigkilled_and_rerun_ends_like_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    export = tmp_path / "export"
    generate(export, 300)
    whole, killed = tmp_path / "whole.sqlite3", tmp_path / "killed.sqlite3"
    args = ("migrate_legacy", "--csv-dir", str(export), "--batch-size", "5", "--no-progress")
    for database in (whole, killed):
        prepare(database, export)

    run = manage(whole, *args)
    assert run.wait(timeout=600) == 0, run.stderr.read() if run.stderr else ""

    victim = manage(killed, *args)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and victim.poll() is None:
        with sqlite3.connect(killed, timeout=10) as db:
            position = db.execute(
                "SELECT position FROM migration_migrationcheckpoint "
                "WHERE \"table\" = 'user_enrolments'"
            ).fetchone()
        if position and position[0]:
            victim.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    assert victim.wait(timeout=60) == -signal.SIGKILL, "the run ended before it was killed"
    assert dump(killed) != dump(whole)  # cut short

    rerun = manage(killed, *args)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err.decode()
    assert "user_enrolments (resumed)" in out.decode()
    assert dump(killed) == dump(whole)
