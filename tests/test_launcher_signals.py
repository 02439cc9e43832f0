"""`make run` always stops: SIGTERM or SIGINT at random moments of a run, from the database's
start and migrate to steady state, sometimes with a second signal during the stop, sent to the
launcher or to its whole process group (as a terminal's Ctrl-C is). Each time, every process the
run started, the embedded PostgreSQL included, is gone within 20 s, and nothing of the run is
left running anywhere on the machine.

Runs go in lanes side by side to keep the test short; each lane has its own var dir (one
pgdata, so initdb is paid once per lane). Most lanes use the embedded database and filesystem
broker; one uses local PostgreSQL and Redis. The random seed is printed (set
LAUNCHER_SIGNALS_SEED to replay one); `pytest -s` prints every run.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.conftest import REPO_ROOT
from tests.test_launcher import free_port

EMBEDDED_LANES = 3
LOCAL_LANES = 1
RUNS_PER_LANE = 8  # 32 runs: the first two of each lane at steady state, the rest at random
STOP_LIMIT_SECONDS = 20
READY_TIMEOUT_SECONDS = 240
SAMPLE_SECONDS = 0.05

# What the run's log says it has reached, in order (the launcher's own lines are "run    | ").
PHASES = (
    ("run    | starting embedded PostgreSQL", "database start"),
    ("run    | database: DATABASE_URL", "database start"),
    ("run    | manage.py migrate", "migrate"),
    ("run    | manage.py seed_demo", "seed_demo"),
    ("run    | serving on", "processes starting"),
)


@dataclass
class Outcome:
    lane: int
    run: int
    embedded: bool
    delay: float | None  # None: signalled at steady state
    signals: list[str]
    target: str
    phase: str
    stop_seconds: float = 0.0
    exit_status: int | None = None
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        moment = "steady state" if self.delay is None else f"after {self.delay:5.2f} s"
        return (
            f"lane {self.lane} run {self.run}: {'+'.join(self.signals):<15} to {self.target:<5} "
            f"{moment:<16} ({self.phase:<18}) gone in {self.stop_seconds:5.2f} s, "
            f"exit {self.exit_status}" + (f"  PROBLEMS: {self.problems}" if self.problems else "")
        )


def phase_of(log: str) -> str:
    reached = "python start-up"
    for marker, phase in PHASES:
        if marker in log:
            reached = phase
    if " ready." in log and "beat: Starting" in log and "Booting worker" in log:
        reached = "steady state"
    return reached


def ready(log: str) -> bool:
    return " ready." in log and "beat: Starting" in log and "Listening at" in log


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def processes_of_run(var_dir: Path) -> list[psutil.Process]:
    """Every live process on the machine that belongs to the run: its environment names the
    run's var dir (everything the launcher starts inherits it), or its command line does."""
    found = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get("CLINIC_VAR_DIR") == str(var_dir) or any(
                str(var_dir) in arg for arg in process.cmdline()
            ):
                found.append(process)
        except psutil.Error:
            continue
    return found


class Lane:
    def __init__(self, number: int, base_env: dict[str, str], root: Path, rng: random.Random):
        self.number = number
        self.env = base_env
        self.embedded = "DATABASE_URL" not in base_env
        self.var_dir = root / f"lane{number}" / "var"
        self.var_dir.mkdir(parents=True)
        self.rng = rng
        self.horizon = 0.0  # seconds from start to steady state, measured at run 2

    def run(self, number: int) -> Outcome:
        log_path = self.var_dir.parent / f"run{number}.log"
        port = free_port()
        env = {
            **self.env,
            "CLINIC_VAR_DIR": str(self.var_dir),
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "CELERY_CONCURRENCY": "1",
        }
        steady = number <= 2
        delay = None if steady else self.rng.uniform(0, self.horizon * 1.1)
        first = self.rng.choice([signal.SIGTERM, signal.SIGINT])
        second = self.rng.choice([None, signal.SIGTERM, signal.SIGINT])
        second_after = self.rng.uniform(0.05, 3.0)
        target = self.rng.choice(["pid", "group"])

        started = time.monotonic()
        with log_path.open("w") as log_file:
            launcher = subprocess.Popen(
                [sys.executable, "-m", "config.launcher"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        seen: dict[int, psutil.Process] = {}

        def sample() -> None:
            with contextlib.suppress(psutil.Error):
                for process in psutil.Process(launcher.pid).children(recursive=True):
                    seen.setdefault(process.pid, process)

        def send(signum: int) -> None:
            with contextlib.suppress(ProcessLookupError):
                if target == "group":
                    os.killpg(launcher.pid, signum)
                else:
                    launcher.send_signal(signum)

        # Until the moment: steady state (runs 1 and 2), or the drawn delay.
        while True:
            sample()
            elapsed = time.monotonic() - started
            log = log_path.read_text()
            if launcher.poll() is not None:
                raise AssertionError(f"the launcher ended by itself:\n{log[-3000:]}")
            if steady and ready(log):
                if number == 2:
                    self.horizon = elapsed
                break
            if not steady and delay is not None and elapsed >= delay:
                break
            if elapsed > READY_TIMEOUT_SECONDS:
                raise AssertionError(f"not ready in time:\n{log[-3000:]}")
            time.sleep(SAMPLE_SECONDS)

        outcome = Outcome(
            lane=self.number,
            run=number,
            embedded=self.embedded,
            delay=delay,
            signals=[signal.Signals(first).name],
            target=target,
            phase=phase_of(log_path.read_text()),
        )
        signalled = time.monotonic()
        send(first)
        second_sent = second is None
        deadline = signalled + STOP_LIMIT_SECONDS
        while launcher.poll() is None and time.monotonic() < deadline:
            sample()
            if not second_sent and time.monotonic() - signalled >= second_after:
                assert second is not None
                send(second)
                outcome.signals.append(signal.Signals(second).name)
                second_sent = True
            time.sleep(SAMPLE_SECONDS)

        postmaster = self.postmaster()
        watched = [*seen.values(), *([postmaster] if postmaster else [])]
        while time.monotonic() < deadline and (
            launcher.poll() is None or any(alive(p) for p in watched)
        ):
            time.sleep(SAMPLE_SECONDS)
        outcome.stop_seconds = time.monotonic() - signalled
        outcome.exit_status = launcher.poll()

        if outcome.exit_status is None:
            outcome.problems.append("the launcher still runs")
        elif outcome.exit_status != 0 and not (outcome.exit_status == -first and not seen):
            # 0: it stopped as asked. Killed by the signal itself: only while Python is still
            # importing, before main() installs its handlers, when it has started nothing.
            outcome.problems.append(f"the launcher exited with {outcome.exit_status}")
        still = sorted({p.pid for p in watched if alive(p)})
        if still:
            outcome.problems.append(f"still running: {still}")
        leftovers = processes_of_run(self.var_dir)
        if leftovers:
            outcome.problems.append(
                f"left running: {[(p.pid, p.name()) for p in leftovers if alive(p)]}"
            )
        if self.embedded and self.postmaster() is not None:
            outcome.problems.append("the embedded PostgreSQL still runs")
        if outcome.problems:
            outcome.problems.append(log_path.read_text()[-3000:])
            self.kill_everything(launcher, watched)
        return outcome

    def postmaster(self) -> psutil.Process | None:
        try:
            pid = int((self.var_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
            process = psutil.Process(pid)
            return process if alive(process) else None
        except (OSError, ValueError, IndexError, psutil.Error):
            return None

    def kill_everything(
        self, launcher: subprocess.Popen[bytes], watched: list[psutil.Process]
    ) -> None:
        """After a failure: leave nothing behind for the next run (or the next test)."""
        for process in [*watched, *processes_of_run(self.var_dir)]:
            with contextlib.suppress(psutil.Error):
                process.kill()
        if launcher.poll() is None:
            launcher.kill()
        launcher.wait()


@pytest.fixture
def scratch_database_urls():
    names = [f"launcher_signals_{uuid.uuid4().hex[:8]}" for _ in range(LOCAL_LANES)]
    admin = "postgresql://postgres@localhost:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    yield [f"postgres://postgres@localhost:5432/{name}" for name in names]
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_signals_at_random_moments_always_stop_everything(tmp_path, scratch_database_urls):
    seed = int(os.environ.get("LAUNCHER_SIGNALS_SEED") or time.time_ns() % 1_000_000)
    print(f"\nlauncher signal test: seed {seed} (LAUNCHER_SIGNALS_SEED={seed} replays the draws)")
    started = time.monotonic()
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DEMO_SEED", "CLINIC_VAR_DIR")
    }
    lanes = [
        Lane(n, dict(base), tmp_path, random.Random(f"{seed}-{n}")) for n in range(EMBEDDED_LANES)
    ]
    for offset, url in enumerate(scratch_database_urls):
        env = {
            **base,
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": "redis://localhost:6379/0",
            "CELERY_TASK_DEFAULT_QUEUE": f"launcher-signals-{uuid.uuid4().hex[:8]}",
            "DEMO_SEED": "1",
        }
        number = EMBEDDED_LANES + offset
        lanes.append(Lane(number, env, tmp_path, random.Random(f"{seed}-{number}")))

    print_lock = threading.Lock()

    def run_lane(lane: Lane) -> list[Outcome]:
        outcomes = []
        for number in range(1, RUNS_PER_LANE + 1):
            outcome = lane.run(number)
            with print_lock:
                print(outcome.line().split("\n")[0][:400], flush=True)
            outcomes.append(outcome)
        return outcomes

    with ThreadPoolExecutor(len(lanes)) as pool:
        outcomes = [
            outcome for lane_outcomes in pool.map(run_lane, lanes) for outcome in lane_outcomes
        ]

    duration = time.monotonic() - started
    phases = Counter(outcome.phase for outcome in outcomes)
    slowest = max(outcome.stop_seconds for outcome in outcomes)
    print(
        f"{len(outcomes)} runs ({sum(o.embedded for o in outcomes)} on the embedded database), "
        f"{sum(len(o.signals) > 1 for o in outcomes)} with a second signal; "
        f"signalled during: {dict(phases)}; slowest stop {slowest:.2f} s; "
        f"test took {duration:.0f} s"
    )
    failed = [outcome for outcome in outcomes if outcome.problems]
    assert not failed, "\n\n".join(f"{o.line()}" for o in failed)
    assert slowest <= STOP_LIMIT_SECONDS
    assert len(outcomes) >= 30
