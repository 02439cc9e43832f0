"""`make run` (config/launcher.py) end to end: it serves the API on the embedded database and
filesystem broker, and on local PostgreSQL + Redis, running the Procfile's processes under
honcho; SIGTERM stops everything it started. (Signals at random moments:
tests/test_launcher_signals.py.)"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.conftest import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Launched:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "config.launcher"],
            cwd=REPO_ROOT,
            env={**env, "PORT": str(self.port), "WEB_CONCURRENCY": "2", "CELERY_CONCURRENCY": "1"},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                status, _ = http("GET", f"{self.base}/readyz")
                text = self.log.read_text()
                if status == 200 and " ready." in text and "beat: Starting" in text:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError("not ready in time:\n" + self.log.read_text()[-4000:])

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def exercise(launched: Launched) -> None:
    """The demo nurse logs in and reads the demo patients."""
    status, body = http(
        "POST", f"{launched.base}/api/v1/auth/login/", {"username": "nurse", "password": "demo"}
    )
    assert status == 200, body
    request = urllib.request.Request(
        f"{launched.base}/api/v1/patients/", headers={"Authorization": f"Bearer {body['token']}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        patients = json.loads(response.read())["results"]
    assert len(patients) == 3


def survey_link_points_at_this_server(launched: Launched) -> None:
    """A questionnaire link sent from `make run` opens on the port it serves (PORT), not :8000."""
    status, body = http(
        "POST",
        f"{launched.base}/api/v1/auth/login/",
        {"username": "clinician", "password": "demo"},
    )
    assert status == 200, body
    headers = {"Authorization": f"Bearer {body['token']}", "Content-Type": "application/json"}
    listing = urllib.request.Request(f"{launched.base}/api/v1/patients/", headers=headers)
    with urllib.request.urlopen(listing, timeout=5) as response:
        patient = json.loads(response.read())["results"][0]["id"]
    create = urllib.request.Request(
        f"{launched.base}/api/v1/surveys/",
        data=json.dumps({"patient": patient, "instrument": "phq9"}).encode(),
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(create, timeout=5) as response:
        url = json.loads(response.read())["url"]
    assert url.startswith(f"{launched.base}/s/"), url


def assert_all_stopped(processes: list[psutil.Process]) -> None:
    _, alive = psutil.wait_procs(processes, timeout=15)
    assert not alive, f"still running after stop: {[p.pid for p in alive]}"


def test_make_run_on_the_embedded_defaults(tmp_path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DEMO_SEED")
    }
    env["CLINIC_VAR_DIR"] = str(tmp_path / "var")
    launched = Launched(env, tmp_path / "run.log")
    try:
        launched.wait_ready()
        exercise(launched)
        started = launched.descendants()
        postmaster = psutil.Process(
            int((tmp_path / "var/pgdata/postmaster.pid").read_text().split()[0])
        )
        assert {"gunicorn", "celery"} <= {
            Path(p.cmdline()[1]).name for p in started if len(p.cmdline()) > 1
        }
        survey_link_points_at_this_server(launched)
        time.sleep(12)  # beat sends its sweeps every 5 and 10 s: some ran by now
        assert launched.stop() == 0
        assert_all_stopped([*started, postmaster])
        log = launched.log.read_text()
        assert "filesystem transport" in log
        # Beat's and the worker's every-few-seconds sweep lines are kept out.
        assert "Sending due task" not in log, log[-3000:]
        assert "vital_readings_flag_unflagged[" not in log, log[-3000:]
        assert "celery@" in log and " ready." in log  # the worker's other INFO lines stay
        # The processes are the Procfile's, run by honcho (it names them web.1, ...).
        assert all(f"{name}.1 started" in log for name in ("web", "worker", "beat")), log
    finally:
        launched.kill()


@pytest.fixture
def scratch_database():
    name = f"launcher_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("postgresql://postgres@localhost:5432/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@localhost:5432/{name}"
    with psycopg.connect("postgresql://postgres@localhost:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_make_run_on_local_postgres_and_redis(tmp_path, scratch_database) -> None:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=scratch_database,
        CELERY_BROKER_URL="redis://localhost:6379/0",
        CELERY_TASK_DEFAULT_QUEUE=f"launcher-{uuid.uuid4().hex[:8]}",
        DEMO_SEED="1",
        CLINIC_VAR_DIR=str(tmp_path / "var"),
    )
    launched = Launched(env, tmp_path / "run.log")
    try:
        launched.wait_ready()
        exercise(launched)
        started = launched.descendants()
        assert launched.stop() == 0
        assert_all_stopped(started)
        log = launched.log.read_text()
        assert "database: DATABASE_URL" in log and "broker: CELERY_BROKER_URL" in log
        assert not (tmp_path / "var/pgdata").exists()  # no embedded server when a URL is given
    finally:
        launched.kill()
