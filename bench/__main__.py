"""`python -m bench` (`make bench`): start the system as in production, load it from this
process, measure the floors of the same machine, print the table and write
bench/results/latest.json. BENCH_QUICK=1 for a short run, BENCH_PROFILE=1 for profiles.

Order: prepare (database, migrations, seed) -> start web, worker, beat -> GET /healthz (the web
tier's ceiling) -> single-reading ingest -> floors (INSERT, COPY, web) -> abnormal reading -> alert
under a background load -> availability -> batch ingest -> memory -> stop everything (also on
Ctrl-C or failure). Each scenario starts once every reading is flagged and after a CHECKPOINT,
so that none pays for the flagging backlog or the dirty pages of another.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import random
import signal
import sys
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import date
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from bench import floors, load, report
from bench.plan import RESULTS_DIR, RUN_DIR, Plan
from bench.system import CpuMeter, CpuSnapshot, System, libpq_url, log

if TYPE_CHECKING:  # bench.seed needs Django set up first
    from bench.seed import Seeded

T = TypeVar("T")
CPU_SAMPLE_INTERVAL_S = 0.5

# Every reading must be flagged before the next scenario starts; longer than this is reported.
FLAG_DRAIN_TIMEOUT_S = 300


@contextmanager
def one_run_at_a_time() -> Iterator[None]:
    """Two runs would drop each other's database."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with (RESULTS_DIR / "bench.lock.tmp").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit("bench: another run is in progress on this checkout") from None
        yield


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through System.__exit__, which stops everything


def _summary(values: list[float]) -> dict[str, float | None]:
    return {
        "p50_ms": report.rounded(report.percentile(values, 50)),
        "p99_ms": report.rounded(report.percentile(values, 99)),
    }


def _cpu_ms_per(usage: dict[str, Any], role: str, per_second: float) -> float | None:
    """CPU milliseconds `role` spent per unit of work, from the cores it used."""
    cores = usage["cpu_cores"].get(role, 0.0)
    return round(1000 * cores / per_second, 2) if per_second else None


def _ratio(ours: float, floor: float) -> float | None:
    return round(ours / floor, 3) if floor else None


class Scenarios:
    """The measurements, in order, on one running system; each fills its part of `results`."""

    def __init__(self, plan: Plan, system: System, seeded: Seeded, rng: random.Random) -> None:
        self.plan, self.system, self.seeded, self.rng = plan, system, seeded, rng
        self.dsn = libpq_url(plan.database_url)
        self.results: dict[str, Any] = {}
        self.nurses: list[load.ApiClient] = []
        self.availability_days: list[date] = []
        self.copy_floor: dict[str, Any] = {}
        self.ceiling_figures: dict[str, Any] = {}

    async def run(self) -> dict[str, Any]:
        async with load.http_session(self.system.base_url) as http:
            password = self.seeded.password
            self.nurses = list(
                await asyncio.gather(
                    *(
                        load.login(http, nurse.username, password, nurse.session_ids)
                        for nurse in self.seeded.nurses
                    )
                )
            )
            alert_nurse = self.seeded.alert_nurse
            prober = await load.login(http, alert_nurse.username, password, alert_nurse.session_ids)
            scheduler = await load.login(http, self.seeded.scheduler, password)

            await self.web_ceiling()
            await self.settle()
            await self.ingest_single()
            await self.floors()
            await self.settle()
            await self.alert_latency(prober)
            await self.settle()
            await self.availability(scheduler)
            await self.settle()
            await self.ingest_batch()
        return self.results

    async def settle(self) -> None:
        waited = await load.settle(self.dsn)
        log(f"checkpoint before the next scenario: {waited:.1f} s")

    async def _with_usage(
        self, work: Awaitable[T], *, warmup_s: float, duration_s: float | None
    ) -> tuple[T, dict[str, Any]]:
        """Run `work` and measure, during its measured window (after `warmup_s`, for
        `duration_s`; None: until `work` ends), the cores each part of the system used and
        what the database's backends were doing."""
        done = asyncio.Event()

        async def snapshot() -> CpuSnapshot:
            return await asyncio.to_thread(self.system.cpu_snapshot)  # the load keeps going

        async def watch() -> dict[str, Any]:
            await asyncio.sleep(warmup_s)
            meter = CpuMeter(await snapshot())
            end = None if duration_s is None else time.monotonic() + duration_s
            while not done.is_set() and (end is None or time.monotonic() < end):
                step = (
                    CPU_SAMPLE_INTERVAL_S
                    if end is None
                    else min(CPU_SAMPLE_INTERVAL_S, end - time.monotonic())
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), timeout=max(0.0, step))
                meter.add(await snapshot())
            if meter.last is meter.first:  # the work ended before the first sample
                meter.add(await snapshot())
            return {"cpu_cores": meter.cores(), "database_backends": meter.database_activity()}

        async def run() -> T:
            try:
                return await work
            finally:
                done.set()

        result, usage = await asyncio.gather(run(), watch())
        return result, usage

    async def _single_readings(
        self, clients: list[load.ApiClient], seconds: float
    ) -> tuple[load.LoopResult, dict[str, Any]]:
        """Normal readings, one a POST, from `clients` in a closed loop for `seconds` after the
        warm-up; with the cores each part used meanwhile."""
        warmup = self.plan.warmup_seconds
        return await self._with_usage(
            load.closed_loop(
                clients,
                warmup_s=warmup,
                duration_s=seconds,
                send=load.ApiClient.post_vitals,
                make_body=lambda: load.reading(load.NORMAL),
                readings_per_request=1,
            ),
            warmup_s=warmup,
            duration_s=seconds,
        )

    async def _drain(self, after: str) -> dict[str, Any]:
        """Every reading flagged before the next measurement, so none pays for the last."""
        waited, backlog, left = await load.wait_until_flagged(
            self.dsn, timeout_s=FLAG_DRAIN_TIMEOUT_S
        )
        log(
            f"  flagging backlog after {after}: {backlog} readings; {left} left after "
            f"{waited:.1f} s"
        )
        self.system.check_alive()
        return {
            "flag_backlog_readings": backlog,
            "flag_drain_s": round(waited, 1),
            "unflagged_after_drain": left,
        }

    async def web_ceiling(self) -> None:
        """What no endpoint can beat on this machine: GET /healthz (no database, no token; the
        same gunicorn workers and middleware) at the same concurrency."""
        plan = self.plan
        log(f"web tier ceiling: GET /healthz, {plan.concurrency} clients")
        ceiling, usage = await self._with_usage(
            load.closed_loop(
                self.nurses,
                warmup_s=plan.warmup_seconds,
                duration_s=plan.ceiling_seconds,
                send=lambda client, _: client.get("/healthz"),
                make_body=lambda: None,
                readings_per_request=0,
                expected_status=200,
            ),
            warmup_s=plan.warmup_seconds,
            duration_s=plan.ceiling_seconds,
        )
        self.ceiling_figures = {
            "healthz_requests_per_s": round(ceiling.requests_per_s, 1),
            **{f"healthz_{k}": v for k, v in _summary(ceiling.latencies_ms).items()},
            "healthz_web_cpu_ms_per_request": _cpu_ms_per(usage, "web", ceiling.requests_per_s),
        }

    async def ingest_single(self) -> None:
        plan = self.plan
        log(f"single-reading ingest: {plan.concurrency} clients, {plan.ingest_seconds:.0f} s")
        single, usage = await self._single_readings(self.nurses, plan.ingest_seconds)
        self.results["ingest_single"] = {
            "readings_per_s": round(single.readings_per_s, 1),
            **_summary(single.latencies_ms),
            "concurrency": plan.concurrency,
            "seconds": plan.ingest_seconds,
            "requests": single.requests,
            "errors": dict(single.errors),
            **usage,
            "web_cpu_ms_per_request": _cpu_ms_per(usage, "web", single.requests_per_s),
            "worker_cpu_ms_per_reading": _cpu_ms_per(usage, "worker", single.readings_per_s),
            **self.ceiling_figures,
            **await self._drain("single-reading ingest"),
        }

    async def floors(self) -> None:
        plan, seeded = self.plan, self.seeded
        await floors.create_floor_table(self.dsn)
        common: dict[str, Any] = {
            "concurrency": plan.concurrency,
            "warmup_s": plan.warmup_seconds,
            "duration_s": plan.floor_seconds,
            "session_id": seeded.floor_session_id,
            "user_id": seeded.floor_user_id,
        }
        window = {"warmup_s": plan.warmup_seconds, "duration_s": plan.floor_seconds}
        await self.settle()
        log(f"floor: INSERT, one row per transaction, {plan.concurrency} connections")
        insert, insert_usage = await self._with_usage(
            floors.floor_single(self.dsn, **common), **window
        )
        await self.settle()
        log(f"floor: COPY, {plan.batch_size} rows per transaction, {plan.concurrency} connections")
        copy, copy_usage = await self._with_usage(
            floors.floor_copy(self.dsn, batch_size=plan.batch_size, **common), **window
        )
        single = self.results["ingest_single"]
        ours = single["readings_per_s"]
        self.results["ingest_single"] = {
            "readings_per_s": ours,
            "p50_ms": single["p50_ms"],
            "p99_ms": single["p99_ms"],
            "floor_rows_per_s": round(insert.rows_per_s, 1),
            "ratio": _ratio(ours, insert.rows_per_s),
            **single,  # the rest, after the figures the issue names
            "floor": insert_usage,
        }
        self.copy_floor = {"rows_per_s": copy.rows_per_s, "usage": copy_usage}
        await self.settle()
        await self.web_floor(insert.rows_per_s)

    async def web_floor(self, insert_rows_per_s: float) -> None:
        """bench/web_floor.py (a bare WSGI function making the INSERT floor's INSERT) through
        the same gunicorn, with the same clients: what no Python ingest served so can beat."""
        plan, seeded = self.plan, self.seeded
        log(f"web floor: bare WSGI + the floor's INSERT under gunicorn, {plan.concurrency} clients")
        with self.system.web_floor(
            session_id=seeded.floor_session_id, user_id=seeded.floor_user_id
        ) as url:
            async with load.http_session(url) as http:
                clients = [
                    load.ApiClient(http=http, token=nurse.token, session_ids=nurse.session_ids)
                    for nurse in self.nurses
                ]
                floor, usage = await self._single_readings(clients, plan.floor_seconds)
        self.results["ingest_single"]["web_floor"] = {
            "readings_per_s": round(floor.readings_per_s, 1),
            "of_insert_floor": _ratio(floor.readings_per_s, insert_rows_per_s),
            **_summary(floor.latencies_ms),
            "errors": dict(floor.errors),
            **usage,
            "web_cpu_ms_per_request": _cpu_ms_per(usage, "web", floor.requests_per_s),
        }

    async def alert_latency(self, prober: load.ApiClient) -> None:
        plan = self.plan
        rate = plan.background_readings_per_second or max(
            5.0, round(self.results["ingest_single"]["readings_per_s"] / 2)
        )
        log(f"abnormal reading -> alert: {plan.alert_samples} samples under {rate:.0f} readings/s")
        alert, usage = await self._with_usage(
            load.alert_latency(
                prober,
                self.nurses,
                dsn=self.dsn,
                samples=plan.alert_samples,
                background_rate=rate,
                warmup_s=plan.warmup_seconds,
                rng=self.rng,
            ),
            warmup_s=plan.warmup_seconds,
            duration_s=None,
        )
        self.results["alert_latency"] = {
            **_summary(alert.latencies_ms),
            "max_ms": report.rounded(max(alert.latencies_ms, default=None)),
            "background_readings_per_s": round(alert.background_readings_per_s, 1),
            "background_target_per_s": alert.background_target_per_s,
            "background_rule": (
                "BENCH_BACKGROUND_RATE"
                if plan.background_readings_per_second
                else "half the single-reading throughput of this run"
            ),
            "background_skipped": alert.background_skipped,
            "samples": len(alert.latencies_ms),
            "timeouts": alert.timeouts,
            "post_p50_ms": report.rounded(report.percentile(alert.post_ms, 50)),
            "post_p99_ms": report.rounded(report.percentile(alert.post_ms, 99)),
            "errors": dict(alert.errors),
            **usage,
        }
        await self._drain("the alert scenario")

    async def availability(self, scheduler: load.ApiClient) -> None:
        plan, seeded = self.plan, self.seeded
        days = sorted(self.rng.sample(seeded.open_days, plan.availability_days))
        others = [day for day in seeded.open_days if day not in days]
        log(f"availability: {len(days)} random open days, one request at a time")
        slots = await load.availability(
            scheduler,
            clinic_id=seeded.availability_clinic_id,
            protocol_id=seeded.availability_protocol_id,
            days=days,
            warmup_days=others[:10],
        )
        self.results["availability"] = {
            **_summary(slots.latencies_ms),
            "chairs": plan.chairs,
            "bookings": seeded.bookings,
            "days": len(slots.latencies_ms),
            "free_slots_p50": report.percentile([float(n) for n in slots.slots], 50),
            "errors": dict(slots.errors),
        }
        self.availability_days = days

    async def ingest_batch(self) -> None:
        plan = self.plan
        log(f"batch ingest: {plan.batch_size} readings a POST, {plan.concurrency} clients")
        batch, usage = await self._with_usage(
            load.closed_loop(
                self.nurses,
                warmup_s=plan.warmup_seconds,
                duration_s=plan.batch_seconds,
                send=load.ApiClient.post_vitals,
                make_body=lambda: load.batch(plan.batch_size),
                readings_per_request=plan.batch_size,
            ),
            warmup_s=plan.warmup_seconds,
            duration_s=plan.batch_seconds,
        )
        flagged_per_s, backlog = await load.flagging_rate(
            self.dsn, seconds=plan.flagging_watch_seconds
        )
        log(f"  flagging backlog: {backlog} readings, flagged at {flagged_per_s:.0f} readings/s")
        self.results["ingest_batch"] = {
            "readings_per_s": round(batch.readings_per_s, 1),
            "floor_rows_per_s": round(self.copy_floor["rows_per_s"], 1),
            "ratio": _ratio(batch.readings_per_s, self.copy_floor["rows_per_s"]),
            "batch_size": plan.batch_size,
            **_summary(batch.latencies_ms),
            "concurrency": plan.concurrency,
            "seconds": plan.batch_seconds,
            "requests": batch.requests,
            "errors": dict(batch.errors),
            "flag_backlog_readings": backlog,
            "flagging_readings_per_s": round(flagged_per_s, 1),
            **usage,
            "web_cpu_ms_per_request": _cpu_ms_per(usage, "web", batch.requests_per_s),
            "floor": self.copy_floor["usage"],
        }
        self.system.check_alive()


def count_availability_queries(seeded: Seeded, days: list[date]) -> dict[str, Any]:
    """Queries per availability request, counted in-process (Django's test client through the
    whole stack, against the same database) on the measured days and on a closed day with no
    bookings: constant means the same count whatever the day holds."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from clinic.services import auth_login

    token = auth_login(username=seeded.scheduler, password=seeded.password).token
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="localhost")
    counts = []
    for day in [seeded.closed_day, *days]:
        params = {
            "clinic": str(seeded.availability_clinic_id),
            "protocol": str(seeded.availability_protocol_id),
            "date": day.isoformat(),
        }
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/availability/", params)
        if response.status_code != 200:
            raise RuntimeError(f"availability answered {response.status_code}")
        counts.append(len(queries))
    return {
        "queries": max(counts),
        "queries_constant": min(counts) == max(counts),
        "queries_measured": "per request, in-process through Django's test client",
    }


def memory_figures(system: System) -> dict[str, Any]:
    processes = system.memory()

    def largest(role: str) -> float | None:
        return max((p.rss_mb for p in processes if p.role == role), default=None)

    return {
        "web_worker": largest("gunicorn worker"),
        "celery_worker": largest("celery pool process"),
        "measure": "RSS",
        "processes": [vars(p) for p in processes],
    }


def run(plan: Plan) -> dict[str, Any] | None:
    rng = random.Random(plan.random_seed)
    began = time.monotonic()
    with System(plan, RUN_DIR) as system:
        system.prepare()
        # This process seeds, profiles and counts queries with the same settings.
        os.environ.update(system.env)
        import django

        django.setup()
        from django.db import connections

        from bench.seed import seed

        log(f"seeding: ward sessions, {plan.chairs} chairs and {plan.bookings:,} bookings")
        seeded = seed(
            concurrency=plan.concurrency, chairs=plan.chairs, bookings=plan.bookings, rng=rng
        )
        if plan.profile:
            from bench.profiling import profile

            profile(seeded, out_dir=RUN_DIR, operations=2000 if not plan.quick else 500)
            return None
        connections.close_all()
        machine = report.machine(plan, dsn=libpq_url(plan.database_url))
        system.start()
        scenarios = Scenarios(plan, system, seeded, rng)
        results = asyncio.run(scenarios.run())
        results["availability"].update(
            count_availability_queries(seeded, scenarios.availability_days)
        )
        results["memory_mb"] = memory_figures(system)
        machine["load_average_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
        machine["duration_s"] = round(time.monotonic() - began)
        results["machine"] = machine
        results["goals"] = report.goals(results)
        results["warnings"] = report.warnings(results)
    return results


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    plan = Plan.from_environment()
    log(f"{plan.mode} run; logs in {RUN_DIR}")
    with one_run_at_a_time():
        try:
            results = run(plan)
        except KeyboardInterrupt:
            log("interrupted; everything stopped")
            return 130
    if results is None:
        return 0
    path = report.write(results, RESULTS_DIR)
    print()
    print(report.table(results))
    print()
    print(report.machine_line(results))
    for warning in results["warnings"]:
        log(f"warning: {warning}")
    log(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
