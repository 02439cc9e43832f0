"""Figures: percentiles, the machine, the goals, the table printed at the end and
bench/results/latest.json (and latest.md, the same table for the README)."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil
import psycopg
import redis

from bench.plan import REPO_ROOT, Plan


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0-100); None when there are no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _code_version() -> dict[str, Any]:
    """The commit measured, and how many tracked files differed from it (bench's own results
    aside): a figure from a dirty tree is a figure of that tree."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "uncommitted_files": None}
    return {"commit": commit, "uncommitted_files": len(changed)}


def machine(plan: Plan, *, dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        postgresql = str(row[0]) if row else "unknown"
        row = conn.execute("SHOW synchronous_commit").fetchone()
        synchronous_commit = str(row[0]) if row else "unknown"
    client = redis.Redis.from_url(plan.redis_url)
    try:
        redis_version = str(client.info("server")["redis_version"])
    finally:
        client.close()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": plan.mode,
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": version("django"),
        "postgresql": postgresql,
        "postgresql_synchronous_commit": synchronous_commit,
        "redis": redis_version,
        "gunicorn": version("gunicorn"),
        "gunicorn_workers": plan.web_workers,
        "gunicorn_worker_class": "gthread",
        "gunicorn_threads": plan.web_threads,
        "celery": version("celery"),
        "celery_worker_concurrency": plan.celery_concurrency,
        "load_client": f"aiohttp {version('aiohttp')}, one process, asyncio",
        "load_concurrency": plan.concurrency,
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "random_seed": plan.random_seed,
        "code": _code_version(),
    }


# --- Goals ---------------------------------------------------------------------------------------


def goals(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    single, batch = results["ingest_single"], results["ingest_batch"]
    alert, slots = results["alert_latency"], results["availability"]

    def at_least(value: float | None, limit: float) -> bool:
        return value is not None and value >= limit

    def at_most(value: float | None, limit: float) -> bool:
        return value is not None and value <= limit

    return {
        "ingest_single": {
            "goal": "ratio >= 0.5",
            "met": at_least(single["ratio"], 0.5),
        },
        "ingest_batch": {
            "goal": "ratio >= 0.25",
            "met": at_least(batch["ratio"], 0.25),
        },
        "alert_latency": {
            "goal": "p99 <= 250 ms, none missing",
            "met": at_most(alert["p99_ms"], 250) and alert["timeouts"] == 0,
        },
        "availability": {
            "goal": "p50 <= 20 ms, constant queries",
            "met": at_most(slots["p50_ms"], 20) and slots["queries_constant"],
        },
        "memory_mb": {"goal": "stated per process", "met": True},
    }


def warnings(results: dict[str, Any]) -> list[str]:
    """What makes a figure less than it seems: failed requests, missing alerts, a backlog that
    did not drain, a background load the server could not keep up with."""
    found = []
    for name in ("ingest_single", "ingest_batch", "alert_latency", "availability"):
        if results[name].get("errors"):
            found.append(f"{name}: failed requests {results[name]['errors']}")
    alert = results["alert_latency"]
    if alert["timeouts"]:
        found.append(f"alert_latency: {alert['timeouts']} abnormal readings had no alert in time")
    if alert["background_readings_per_s"] < 0.9 * alert["background_target_per_s"]:
        found.append(
            f"alert_latency: background reached {alert['background_readings_per_s']} of "
            f"{alert['background_target_per_s']} readings/s (the server was saturated)"
        )
    for name in ("ingest_single", "ingest_batch", "alert_latency"):
        cpu = results[name].get("cpu_cores", {})
        if cpu.get("other", 0) + cpu.get("steal", 0) > 0.25:
            found.append(
                f"{name}: the machine was shared: other processes used {cpu['other']} cores "
                f"and the host took {cpu.get('steal', 0)} (steal) during the measurement"
            )
    if results["ingest_single"].get("unflagged_after_drain"):
        found.append("ingest_single: readings were still unflagged when the next scenario began")
    return found


# --- Output --------------------------------------------------------------------------------------


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _met(goal: dict[str, Any]) -> str:
    return "yes" if goal["met"] else "**no**"


def table(results: dict[str, Any]) -> str:
    single, batch = results["ingest_single"], results["ingest_batch"]
    alert, slots = results["alert_latency"], results["availability"]
    memory, goal = results["memory_mb"], results["goals"]
    rows = [
        ("figure", "ours", "floor", "ratio", "goal", "met?"),
        (
            f"single-reading ingest, {single['concurrency']} clients (readings/s)",
            _number(single["readings_per_s"]),
            _number(single["floor_rows_per_s"]) + " (INSERT)",
            _number(single["ratio"], 3),
            "≥ 0.5 x floor",
            _met(goal["ingest_single"]),
        ),
        (
            "web tier ceiling: GET /healthz, same clients (requests/s)",
            _number(single.get("healthz_requests_per_s")),
            "",
            "",
            "",
            "",
        ),
        (
            "web floor: bare WSGI + that INSERT, same gunicorn, clients (readings/s; of floor)",
            _number(single.get("web_floor", {}).get("readings_per_s")),
            "",
            _number(single.get("web_floor", {}).get("of_insert_floor"), 3),
            "",
            "",
        ),
        (
            "gunicorn CPU per request (ms): /healthz, single reading, batch",
            f"{_number(single.get('healthz_web_cpu_ms_per_request'), 1)}, "
            f"{_number(single.get('web_cpu_ms_per_request'), 1)}, "
            f"{_number(batch.get('web_cpu_ms_per_request'), 1)}",
            "",
            "",
            "",
            "",
        ),
        (
            "single-reading latency p50 / p99 (ms)",
            f"{_number(single['p50_ms'], 1)} / {_number(single['p99_ms'], 1)}",
            "",
            "",
            "",
            "",
        ),
        (
            f"{batch['batch_size']}-reading batch ingest (readings/s)",
            _number(batch["readings_per_s"]),
            _number(batch["floor_rows_per_s"]) + " (COPY)",
            _number(batch["ratio"], 3),
            "≥ 0.25 x floor",
            _met(goal["ingest_batch"]),
        ),
        (
            f"abnormal reading → alert p50 / p99 / max (ms), "
            f"{_number(alert['background_readings_per_s'])} readings/s background",
            f"{_number(alert['p50_ms'])} / {_number(alert['p99_ms'])} / {_number(alert['max_ms'])}",
            "",
            "",
            "p99 ≤ 250 ms",
            _met(goal["alert_latency"]),
        ),
        (
            f"availability, {slots['chairs']} chairs, {slots['bookings']:,} bookings, "
            f"p50 / p99 (ms)",
            f"{_number(slots['p50_ms'], 1)} / {_number(slots['p99_ms'], 1)}",
            "",
            "",
            "p50 ≤ 20 ms",
            _met(goal["availability"]),
        ),
        (
            "availability queries per request",
            f"{slots['queries']} ({'constant' if slots['queries_constant'] else 'varies'})",
            "",
            "",
            "constant",
            "yes" if slots["queries_constant"] else "**no**",
        ),
        (
            f"memory, {memory['measure']} (MB): gunicorn worker / Celery worker",
            f"{_number(memory['web_worker'])} / {_number(memory['celery_worker'])}",
            "",
            "",
            "stated",
            "yes",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        )
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    return (
        f"{m['cpu_count']} x {m['cpu_model']}, {m['ram_gb']} GB RAM, {m['os']}; Python "
        f"{m['python']}, PostgreSQL {m['postgresql']}, Redis {m['redis']}; gunicorn "
        f"{m['gunicorn_workers']} {m['gunicorn_worker_class']} workers x "
        f"{m['gunicorn_threads']} threads, Celery worker concurrency "
        f"{m['celery_worker_concurrency']}; {m['mode']} run of {m['date']}; load average at the "
        f"start {m['load_average_1_5_15']}."
    )


def write(results: dict[str, Any], results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "latest.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    (results_dir / "latest.md").write_text(f"{table(results)}\n\n{machine_line(results)}\n")
    return path
