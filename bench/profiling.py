"""`BENCH_PROFILE=1 make bench`: where the time of the two hot paths goes, with pyinstrument,
in-process on the bench's seeded database (import after `django.setup()`).

- ingest: single-reading POSTs through Django's test client: the whole request (middleware,
  DRF, bearer token, scoping, the service, the serializer, the on-commit enqueue to Redis),
  minus gunicorn's own HTTP handling;
- ingest-batch: the same with 100-reading batches;
- flagging: the body of the Celery task for abnormal readings (`vital_readings_flag`: lock,
  rules, alerts, paging through the outbox, the on-commit enqueue of the deliveries), minus
  Celery's own message handling.

Writes profile-{ingest,ingest-batch,flagging-*}.{txt,html} under bench/results/run.tmp/ and
prints the hot spots: the project's functions by inclusive time, and every function by self
time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pyinstrument import Profiler
from pyinstrument.frame import Frame

from bench.load import ABNORMAL, NORMAL, VITALS_PATH, batch, reading
from bench.plan import REPO_ROOT
from bench.seed import Seeded
from bench.system import log
from clinic.services import auth_login
from monitoring.services import vital_readings_flag

PROFILE_INTERVAL_S = 0.0005
VENV = REPO_ROOT / ".venv"


def _package(frame: Frame) -> str:
    """Where self time is spent, by library: `django/db`, `psycopg`, `rest_framework`, ..."""
    short = frame.file_path_short or "?"
    parts = Path(short).parts
    if not parts or short.startswith("<"):
        return short
    if Path(frame.file_path or "").is_relative_to(REPO_ROOT) and not Path(
        frame.file_path or ""
    ).is_relative_to(VENV):
        return f"project: {parts[0]}"
    return "/".join(parts[:2]) if parts[0] == "django" and len(parts) > 2 else parts[0]


def hot_spots(root: Frame, *, limit: int = 15) -> dict[str, list[str]]:
    """The project's functions by inclusive time, and self time by library, as lines with the
    share of the whole profile. Recursion is counted once per call path."""
    inclusive: dict[str, float] = defaultdict(float)
    by_package: dict[str, float] = defaultdict(float)
    project: set[str] = set()

    def walk(frame: Frame, on_path: frozenset[str]) -> None:
        if frame.is_synthetic:
            return  # "[self]" and hidden-frame markers: counted in their parent's self time
        key = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
        path = Path(frame.file_path or "")
        if (
            path.is_relative_to(REPO_ROOT)
            and not path.is_relative_to(VENV)
            and not path.is_relative_to(REPO_ROOT / "bench")
        ):
            project.add(key)
        if key not in on_path:
            inclusive[key] += frame.time
        by_package[_package(frame)] += frame.total_self_time
        for child in frame.children:
            walk(child, on_path | {key})

    walk(root, frozenset())
    total = root.time or 1.0

    def lines(times: dict[str, float]) -> list[str]:
        ranked = sorted(((t, k) for k, t in times.items()), reverse=True)[:limit]
        return [f"{100 * t / total:5.1f}%  {k}" for t, k in ranked]

    return {
        "project functions, inclusive time": lines({k: inclusive[k] for k in project}),
        "self time by library": lines(by_package),
    }


def _queries_of(operation: Callable[[], object]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        operation()
    return [" ".join(q["sql"].split())[:150] for q in captured.captured_queries]


def _report(name: str, profiler: Profiler, out_dir: Path, count: int, queries: list[str]) -> None:
    session = profiler.last_session
    root = session.root_frame() if session else None
    if session is None or root is None:
        log(f"{name}: nothing profiled")
        return
    (out_dir / f"profile-{name}.txt").write_text(
        profiler.output_text(unicode=True, color=False, show_all=False)
    )
    (out_dir / f"profile-{name}.html").write_text(profiler.output_html())
    print(
        f"\n== {name}: {count} operations, {1000 * root.time / count:.2f} ms each "
        f"(wall; CPU {1000 * session.cpu_time / count:.2f} ms, the rest waits on "
        "PostgreSQL and Redis) =="
    )
    for title, lines in hot_spots(root).items():
        print(f"{title}:")
        print("\n".join(lines))
    print(f"SQL of one operation ({len(queries)} queries):")
    print("\n".join(f"  {sql}" for sql in queries))


def _post(client: Client, session_id: int, body: dict[str, Any] | list[Any]) -> None:
    response = client.post(
        VITALS_PATH.format(session_id=session_id),
        data=json.dumps(body),
        content_type="application/json",
    )
    if response.status_code != 201:
        raise RuntimeError(f"ingest answered {response.status_code}: {response.content[:300]!r}")


def _profile_flagging(
    client: Client, sessions: tuple[int, ...], values: dict[str, Any], count: int
) -> tuple[Profiler, list[str]]:
    """Readings stored unprofiled (the workers are not running), then flagged as the task
    flags them after a single-reading POST: one reading per call."""
    bodies = [reading(values) for _ in range(count + 20)]
    for index, body in enumerate(bodies):
        _post(client, sessions[index % 2], body)
    for body in bodies[:19]:  # warm-up
        vital_readings_flag(reading_ids=[body["id"]])
    queries = _queries_of(lambda: vital_readings_flag(reading_ids=[bodies[19]["id"]]))
    profiler = Profiler(interval=PROFILE_INTERVAL_S)
    profiler.start()
    for body in bodies[20:]:
        vital_readings_flag(reading_ids=[body["id"]])
    profiler.stop()
    return profiler, queries


def profile(seeded: Seeded, *, out_dir: Path, operations: int) -> None:
    nurse = seeded.nurses[0]
    token = auth_login(username=nurse.username, password=seeded.password).token
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="localhost")
    sessions = nurse.session_ids

    for index in range(50):  # warm-up: imports, caches, prepared connections
        _post(client, sessions[index % 2], reading(NORMAL))
    profiler = Profiler(interval=PROFILE_INTERVAL_S)
    profiler.start()
    for index in range(operations):
        _post(client, sessions[index % 2], reading(NORMAL))
    profiler.stop()
    queries = _queries_of(lambda: _post(client, sessions[0], reading(NORMAL)))
    _report("ingest", profiler, out_dir, operations, queries)

    # 100-reading batches (a tablet back online), as the batch scenario sends them.
    batches = operations // 20
    for index in range(5):
        _post(client, sessions[index % 2], batch(100))
    profiler = Profiler(interval=PROFILE_INTERVAL_S)
    profiler.start()
    for index in range(batches):
        _post(client, sessions[index % 2], batch(100))
    profiler.stop()
    queries = _queries_of(lambda: _post(client, sessions[0], batch(100)))
    _report("ingest-batch", profiler, out_dir, batches, queries)

    # The common case (a normal reading: no alert), then an abnormal one (critical: alerts,
    # and pages through the outbox).
    count = operations // 4
    profiler, queries = _profile_flagging(client, sessions, NORMAL, count)
    _report("flagging-normal", profiler, out_dir, count, queries)
    profiler, queries = _profile_flagging(client, sessions, ABNORMAL, count)
    _report("flagging-abnormal", profiler, out_dir, count, queries)
    log(f"profiles written to {out_dir}/profile-*.txt and .html")
