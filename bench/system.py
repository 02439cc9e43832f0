"""The system under test, started as in production: gunicorn with the Dockerfile's and
docker-compose.yml's gunicorn.conf.py (gthread workers), a Celery worker and Celery beat, on local
PostgreSQL and Redis.

Each process runs in its own process group with its output in a log file under
bench/results/run.tmp/; `System.stop()` (also on Ctrl-C and on failure) stops them all, and the
database and Redis database the run used are removed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psutil
import psycopg
import redis
from psycopg import sql

from bench.plan import REPO_ROOT, Plan

STOP_GRACE_SECONDS = 20
READY_TIMEOUT_SECONDS = 120
GUNICORN_CONF = REPO_ROOT / "gunicorn.conf.py"


def log(message: str) -> None:
    print(f"bench  | {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def libpq_url(url: str) -> str:
    """psycopg wants postgresql:// (Django's django-environ also accepts postgres://)."""
    return "postgresql://" + url.split("://", 1)[1]


def recreate_database(plan: Plan) -> None:
    with psycopg.connect(libpq_url(plan.admin_database_url), autocommit=True) as conn:
        name = sql.Identifier(plan.database_name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def drop_database(plan: Plan) -> None:
    with psycopg.connect(libpq_url(plan.admin_database_url), autocommit=True) as conn:
        name = sql.Identifier(plan.database_name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def flush_redis(plan: Plan) -> None:
    """The bench's Redis database number is its own: its queue and Celery's bookkeeping."""
    client = redis.Redis.from_url(plan.redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def application_environment(plan: Plan, *, port: int, run_dir: Path) -> dict[str, str]:
    """Production-like settings: DEBUG off, a secret key made for this run, and the bench's
    own database, Redis database and queue."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=plan.database_url,
        CELERY_BROKER_URL=plan.redis_url,
        CELERY_TASK_DEFAULT_QUEUE=f"bench-{secrets.token_hex(4)}",
        CLINIC_VAR_DIR=str(run_dir / "var"),
        LOG_LEVEL="INFO",
        # gunicorn.conf.py reads these.
        PORT=str(port),
        WEB_BIND_HOST="127.0.0.1",
        WEB_CONCURRENCY=str(plan.web_workers),
        WEB_THREADS=str(plan.web_threads),
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Service:
    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                self.command,
                env=env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with its children
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_or_kill(self, deadline: float) -> None:
        """After a SIGTERM: wait for the process until `deadline` (time.monotonic()), then
        SIGKILL its group."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop in time; killing it")
            self.signal_group(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far by each process of the run (role, seconds, start time), and by
    the whole machine."""

    at: float  # time.time()
    by_pid: dict[int, tuple[str, float, float]]
    machine_busy_s: float
    machine_steal_s: float  # a virtual machine's CPU time taken by its neighbours
    # Backends of the bench's database inside a query, by what they wait for ("running": on
    # CPU; "Lock": a row or table lock; "IO", "LWLock", "IPC": PostgreSQL's own wait types).
    db_active: dict[str, int]


class CpuMeter:
    """Cores used over a window by role: web, worker, beat, postgres (the backends of the
    bench's database), load (this process); by everything else on the machine (other); and
    taken from this virtual machine by its host (steal).

    Sampled (every second or so) rather than read twice: PostgreSQL backends come and go (a
    web worker reconnects when CONN_MAX_AGE expires), and a process gone by the end of the
    window would take its CPU time with it."""

    def __init__(self, first: CpuSnapshot) -> None:
        self.first = self.last = first
        self.spent: dict[str, float] = {}
        self.db_active: dict[str, int] = dict(first.db_active)
        self.samples = 1

    def add(self, snapshot: CpuSnapshot) -> None:
        for pid, (role, spent, started) in snapshot.by_pid.items():
            before = self.last.by_pid.get(pid)
            if before is not None:
                spent -= before[1]
            elif started < self.last.at:
                continue  # not seen before, yet older than the last sample: no baseline
            self.spent[role] = self.spent.get(role, 0.0) + spent
        for state, count in snapshot.db_active.items():
            self.db_active[state] = self.db_active.get(state, 0) + count
        self.samples += 1
        self.last = snapshot

    def database_activity(self) -> dict[str, float]:
        """Mean number of the bench database's backends in a query, by what they wait for."""
        return {
            state: round(count / self.samples, 2) for state, count in sorted(self.db_active.items())
        }

    def cores(self) -> dict[str, float]:
        seconds = (self.last.at - self.first.at) or 1.0
        used = dict(self.spent)
        ours = sum(used.values())
        busy = self.last.machine_busy_s - self.first.machine_busy_s
        used["other"] = max(0.0, busy - ours)
        used["steal"] = self.last.machine_steal_s - self.first.machine_steal_s
        return {role: round(spent / seconds, 3) for role, spent in used.items()}


@dataclass(frozen=True)
class ProcessMemory:
    role: str
    pid: int
    rss_mb: float
    pss_mb: float | None
    uss_mb: float | None


class System:
    """Database, broker and the three processes of a deployment, as a context manager."""

    def __init__(self, plan: Plan, run_dir: Path) -> None:
        self.plan = plan
        self.run_dir = run_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = application_environment(plan, port=self.port, run_dir=run_dir)
        bin_dir = Path(sys.executable).parent
        self.services = [
            Service(
                "web",
                self._gunicorn("config.wsgi:application"),
                run_dir / "web.log",
            ),
            Service(
                "worker",
                [
                    str(bin_dir / "celery"),
                    "-A",
                    "config",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    str(plan.celery_concurrency),
                    "--hostname",
                    f"bench-{os.getpid()}@%h",
                ],
                run_dir / "worker.log",
            ),
            Service(
                "beat",
                [
                    str(bin_dir / "celery"),
                    "-A",
                    "config",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--pidfile",
                    "",
                ],
                run_dir / "beat.log",
            ),
        ]
        self._database_created = False

    def _gunicorn(self, app: str) -> list[str]:
        """gunicorn as the image runs it: every setting from gunicorn.conf.py, which reads the
        port, workers and threads from the environment (application_environment)."""
        return [str(Path(sys.executable).parent / "gunicorn"), "-c", str(GUNICORN_CONF), app]

    @contextlib.contextmanager
    def web_floor(self, *, session_id: int, user_id: int) -> Iterator[str]:
        """bench/web_floor.py served as the system is served, on a port of its own, for the
        length of the block (its CPU counts as "web": the system's own gunicorn is idle then);
        its base URL."""
        port = free_port()
        service = Service(
            "web",
            self._gunicorn("bench.web_floor:application"),
            self.run_dir / "web-floor.log",
        )
        env = {
            **self.env,
            "PORT": str(port),
            "BENCH_WEB_FLOOR_DSN": libpq_url(self.plan.database_url),
            "BENCH_WEB_FLOOR_SESSION": str(session_id),
            "BENCH_WEB_FLOOR_USER": str(user_id),
        }
        self.services.append(service)
        try:
            service.start(env)
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            while _status_of(url) != 200:
                if not service.running() or time.monotonic() > deadline:
                    raise RuntimeError(f"the web floor did not start; see {service.log_path}")
                time.sleep(0.2)
            yield url
        finally:
            service.signal_group(signal.SIGTERM)
            service.wait_or_kill(time.monotonic() + STOP_GRACE_SECONDS)
            self.services.remove(service)

    # --- Life cycle ------------------------------------------------------------------------------

    def __enter__(self) -> System:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def prepare(self) -> None:
        """A fresh, migrated database and an empty Redis database."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "var").mkdir(exist_ok=True)
        log(f"database {self.plan.database_name}: dropped, created, migrating")
        recreate_database(self.plan)
        self._database_created = True
        flush_redis(self.plan)
        with (self.run_dir / "migrate.log").open("wb") as out:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput"],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
            )

    def start(self) -> None:
        for service in self.services:
            service.start(self.env)
        self.wait_ready()
        log(
            f"serving on {self.base_url} (gunicorn {self.plan.web_workers} gthread workers x "
            f"{self.plan.web_threads} threads, "
            f"Celery worker concurrency {self.plan.celery_concurrency}, beat)"
        )

    def wait_ready(self) -> None:
        """/readyz answers 200, the worker consumes and beat has started its scheduler."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        _, worker, beat = self.services
        while time.monotonic() < deadline:
            for service in self.services:
                if not service.running():
                    raise RuntimeError(
                        f"{service.name} exited while starting; see {service.log_path}:\n"
                        + service.log_text()[-3000:]
                    )
            if (
                self._ready_status() == 200
                and " ready." in worker.log_text()
                and "beat: Starting" in beat.log_text()
            ):
                return
            time.sleep(0.3)
        raise RuntimeError(f"the system was not ready in {READY_TIMEOUT_SECONDS} s")

    def _ready_status(self) -> int | None:
        return _status_of(f"{self.base_url}/readyz")

    def check_alive(self) -> None:
        for service in self.services:
            if service.process is not None and not service.running():
                raise RuntimeError(f"{service.name} died; see {service.log_path}")

    def stop(self) -> None:
        """SIGTERM to every process group (warm shutdown), SIGKILL to what is left after a grace
        period, then drop the database and empty the Redis database. Safe to call twice."""
        for service in self.services:
            if service.running():
                service.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for service in self.services:
            service.wait_or_kill(deadline)
        # Clean up as much as can be cleaned, without hiding the error that brought us here.
        try:
            if self._database_created and not os.environ.get("BENCH_KEEP_DATABASE"):
                drop_database(self.plan)
                self._database_created = False
            flush_redis(self.plan)
        except Exception as error:  # reported; the run is over anyway
            log(f"cleanup failed: {error!r}")

    # --- Measurements ----------------------------------------------------------------------------

    def cpu_snapshot(self) -> CpuSnapshot:
        pids: list[tuple[str, int]] = [("load", os.getpid())]
        for service in self.services:
            if service.process is None:
                continue
            with contextlib.suppress(psutil.Error):
                parent = psutil.Process(service.process.pid)
                family = [parent, *parent.children(recursive=True)]
                pids += [(service.name, process.pid) for process in family]
        with psycopg.connect(libpq_url(self.plan.admin_database_url), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid, state, wait_event_type FROM pg_stat_activity WHERE datname = %s",
                [self.plan.database_name],
            ).fetchall()
        pids += [("postgres", pid) for pid, _, _ in rows if pid]
        db_active: dict[str, int] = {}
        for _, state, waiting_for in rows:
            if state == "active":
                key = waiting_for or "running"
                db_active[key] = db_active.get(key, 0) + 1
        by_pid: dict[int, tuple[str, float, float]] = {}
        for role, pid in pids:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                times = process.cpu_times()
                by_pid[pid] = (role, times.user + times.system, process.create_time())
        machine = psutil.cpu_times()
        busy = (
            machine.user
            + machine.system
            + sum(getattr(machine, field, 0.0) for field in ("nice", "irq", "softirq"))
        )
        return CpuSnapshot(
            at=time.time(),
            by_pid=by_pid,
            machine_busy_s=busy,
            machine_steal_s=getattr(machine, "steal", 0.0),
            db_active=db_active,
        )

    def memory(self) -> list[ProcessMemory]:
        """Resident memory of every process of the deployment: RSS, and PSS / USS (the pages
        it shares counted pro rata / not at all) where the platform gives them."""
        measured: list[ProcessMemory] = []
        for service in self.services:
            if service.process is None:
                continue
            parent = psutil.Process(service.process.pid)
            roles = {"web": "gunicorn", "worker": "celery worker", "beat": "celery beat"}
            measured.append(_memory_of(parent, f"{roles[service.name]} (main)"))
            child_role = {"web": "gunicorn worker", "worker": "celery pool process"}
            for child in parent.children():
                measured.append(_memory_of(child, child_role.get(service.name, service.name)))
        return measured


def _status_of(url: str) -> int | None:
    """The status of a GET to one of our own loopback servers; None if it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def _memory_of(process: psutil.Process, role: str) -> ProcessMemory:
    megabyte = 1024 * 1024
    try:
        full = process.memory_full_info()
        pss = getattr(full, "pss", None)
        uss = getattr(full, "uss", None)
        return ProcessMemory(
            role=role,
            pid=process.pid,
            rss_mb=round(full.rss / megabyte, 1),
            pss_mb=round(pss / megabyte, 1) if pss is not None else None,
            uss_mb=round(uss / megabyte, 1) if uss is not None else None,
        )
    except psutil.AccessDenied:
        return ProcessMemory(
            role=role,
            pid=process.pid,
            rss_mb=round(process.memory_info().rss / megabyte, 1),
            pss_mb=None,
            uss_mb=None,
        )
