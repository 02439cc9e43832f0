"""The web floor: the least a Python web service can do per reading on this machine.

A bare WSGI function, served by the same gunicorn as the system (same workers, threads and
worker class), that parses the reading's JSON and makes the INSERT floor's INSERT (one row per
transaction, `bench/floors.py`) on a connection of its own thread, then answers 201 with the
reading. No Django, no token, no scope, no lock, no rules, no audit: what no Python ingest served
by gunicorn can beat here, measured with the same clients as the system. Started by the bench
only for its scenario (`gunicorn bench.web_floor:application`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from bench.floors import INSERT, floor_row

_local = threading.local()


def _connection() -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = psycopg.connect(os.environ["BENCH_WEB_FLOOR_DSN"], autocommit=True)
    return conn


def application(
    environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any]
) -> Iterable[bytes]:
    if environ["REQUEST_METHOD"] != "POST":  # the bench's readiness probe
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    reading = json.loads(environ["wsgi.input"].read(length))
    session_id = int(os.environ["BENCH_WEB_FLOOR_SESSION"])
    _connection().execute(INSERT, floor_row(session_id, int(os.environ["BENCH_WEB_FLOOR_USER"])))
    body = json.dumps(reading).encode()
    start_response(
        "201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
