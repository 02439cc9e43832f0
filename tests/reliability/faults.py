"""Tools for the fault-injection tests: a second database connection that can hold row locks
and cut other connections, a real gunicorn, and what the worker's SMS backend sent."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import psycopg

from tests.conftest import WorkerProcess, spawn, test_database_url, wait_for


def side_connection() -> psycopg.Connection:
    """A connection of the test's own, outside Django, in autocommit until told otherwise."""
    return psycopg.connect(test_database_url(), autocommit=True)


@contextmanager
def row_locked(table: str, pk: object, mode: str = "UPDATE") -> Iterator[psycopg.Connection]:
    """Hold `SELECT … FOR <mode>` on one row until the block ends, so that a worker touching
    that row waits, in the middle of its task, where a test can kill it."""
    assert mode in ("UPDATE", "NO KEY UPDATE", "SHARE", "KEY SHARE")
    with side_connection() as conn:
        conn.autocommit = False
        conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR {mode}", [pk])  # noqa: S608
        try:
            yield conn
        finally:
            conn.rollback()


def wait_for_lock_waiter(table: str, timeout: float = 20) -> int:
    """The pid of the backend that waits for a lock while querying `table`."""
    with side_connection() as conn:

        def waiter() -> int | None:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE %s",
                [f"%{table}%"],
            ).fetchone()
            return row[0] if row else None

        pid: int = wait_for(waiter, timeout=timeout)
        return pid


def backend_alive(pid: int) -> bool:
    with side_connection() as conn:
        return bool(conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone())


def terminate_backends(application_name: str) -> int:
    """Cut every database connection opened under `application_name`, as a database restart
    or a failover would."""
    with side_connection() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [application_name],
        ).fetchall()
    return len(rows)


def kill_process_group(started: WorkerProcess) -> None:
    """SIGKILL a worker and all its pool processes: no shutdown, no acknowledgement."""
    os.killpg(started.process.pid, signal.SIGKILL)
    started.process.wait(timeout=10)


def kill_pool_process(started: WorkerProcess) -> int:
    """SIGKILL the worker's pool process (the one running the task), as the OOM killer would;
    the worker's main process lives on and starts another."""
    children = psutil.Process(started.process.pid).children()
    assert len(children) == 1, children  # --concurrency 1
    children[0].send_signal(signal.SIGKILL)
    return children[0].pid


def sms_sent(sms_file: Path) -> Counter[str]:
    """How many messages the worker sent, by the outbox's dedup key (the SMS reference)."""
    if not sms_file.exists():
        return Counter()
    lines = sms_file.read_text().splitlines()
    return Counter(json.loads(line)["reference"] for line in lines if line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Gunicorn:
    """gunicorn serving the project on the test database, as `make run` starts it."""

    def __init__(self, application_name: str, workers: int = 1) -> None:
        self.port = free_port()
        self.lines: list[str] = []
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"{test_database_url()}?application_name={application_name}",
            DJANGO_SETTINGS_MODULE="config.settings",
            # No broker: what the web server would send is picked up by the sweeps' tests.
            CELERY_BROKER_URL="redis://127.0.0.1:1/0",
            PORT=str(self.port),
            WEB_CONCURRENCY=str(workers),
            WEB_THREADS="4",
        )
        self.process = spawn(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--config",
                "gunicorn.conf.py",  # the production settings, as make run and the image use
                "config.wsgi:application",
            ],
            env,
        )
        threading.Thread(target=self._follow, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(self._answers, timeout=30)

    def _follow(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, ""):
            self.lines.append(line)

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        time.sleep(0.1)  # let the log thread read the last lines
