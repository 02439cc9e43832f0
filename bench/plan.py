"""What a run does and where: durations, concurrency, database and broker, from the environment.

Everything the bench touches is its own: a database it drops and recreates, a Redis database
number, a queue name and a free port, so that it can run next to other work on the machine.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
# Logs and profiles of the last run; ignored by git (`bench/results/*.tmp`).
RUN_DIR = RESULTS_DIR / "run.tmp"


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class Plan:
    quick: bool
    profile: bool
    # Load: a closed loop of this many clients; the same number of connections for the floors.
    concurrency: int
    warmup_seconds: float
    # GET /healthz at the same concurrency: the web tier's own ceiling.
    ceiling_seconds: float
    ingest_seconds: float
    batch_seconds: float
    batch_size: int
    floor_seconds: float
    # Abnormal reading -> alert: samples, and the open-loop rate of normal readings meanwhile
    # (None: half of the single-reading throughput measured in the same run).
    alert_samples: int
    background_readings_per_second: float | None
    # After the batch scenario, how long the flagging rate of its backlog is watched.
    flagging_watch_seconds: float
    # Availability: a clinic of this many chairs holding this many bookings over a year.
    chairs: int
    bookings: int
    availability_days: int
    # The system as deployed (docker-compose.yml defaults).
    web_workers: int
    web_threads: int
    celery_concurrency: int
    # Where.
    admin_database_url: str
    database_name: str
    redis_url: str
    random_seed: int

    @property
    def database_url(self) -> str:
        base, _, _ = self.admin_database_url.rpartition("/")
        return f"{base}/{self.database_name}"

    @property
    def mode(self) -> str:
        return "profile" if self.profile else ("quick" if self.quick else "full")

    @classmethod
    def from_environment(cls) -> Plan:
        quick = _env_bool("BENCH_QUICK")
        return cls(
            quick=quick,
            profile=_env_bool("BENCH_PROFILE"),
            concurrency=_env_int("BENCH_CONCURRENCY", 8),
            warmup_seconds=_env_float("BENCH_WARMUP_SECONDS", 3 if quick else 5),
            ceiling_seconds=_env_float("BENCH_CEILING_SECONDS", 10 if quick else 20),
            ingest_seconds=_env_float("BENCH_INGEST_SECONDS", 20 if quick else 90),
            batch_seconds=_env_float("BENCH_BATCH_SECONDS", 15 if quick else 60),
            batch_size=100,
            floor_seconds=_env_float("BENCH_FLOOR_SECONDS", 10 if quick else 45),
            alert_samples=_env_int("BENCH_ALERT_SAMPLES", 50 if quick else 200),
            background_readings_per_second=(_env_float("BENCH_BACKGROUND_RATE", 0) or None),
            flagging_watch_seconds=10 if quick else 30,
            chairs=20,
            bookings=10_000,
            availability_days=100,
            web_workers=_env_int("WEB_CONCURRENCY", 2),
            web_threads=_env_int("WEB_THREADS", 4),
            celery_concurrency=_env_int("CELERY_CONCURRENCY", 2),
            admin_database_url=os.environ.get(
                "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@localhost:5432/postgres"
            ),
            database_name=os.environ.get("BENCH_DATABASE_NAME", "bench_clinic"),
            redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
            random_seed=_env_int("BENCH_RANDOM_SEED", random.SystemRandom().randrange(2**31)),
        )
