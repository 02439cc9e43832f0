"""Shared fixtures: people and places, authenticated API clients, and a real Celery worker."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from clinic import services
from clinic.models import AuditEvent, Clinic, Role, User
from config.celery_app import app as celery_app
from tests.factories import TEST_PASSWORD, ClinicFactory, UserFactory

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2 at production strength costs ~0.3 s a login; tests log in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clinic(db: None) -> Clinic:
    return ClinicFactory.create(name="Home Clinic")


@pytest.fixture
def other_clinic(db: None) -> Clinic:
    return ClinicFactory.create(name="Other Clinic")


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: str = Role.NURSE, clinics: list[Clinic] | None = None, **kwargs: Any) -> User:
        user: User = UserFactory.create(role=role, clinics=clinics or [], **kwargs)
        return user

    return make


def client_for(user: User) -> APIClient:
    """An API client holding a real bearer token, obtained through the login service."""
    result = services.auth_login(username=user.username, password=TEST_PASSWORD)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {result.token}")
    return client


def book_session(api: APIClient, patient: Any, protocol: Any, chair: Any, starts_at: Any) -> Any:
    """POST /sessions/: book one session through the API; the response, whatever its status."""
    payload = {
        "patient": patient.pk,
        "protocol": protocol.pk,
        "chair": chair.pk,
        "starts_at": starts_at.isoformat(),
    }
    return api.post("/api/v1/sessions/", payload, format="json")


@pytest.fixture
def api_as(make_user: Callable[..., User], clinic: Clinic) -> Callable[..., APIClient]:
    """api_as("nurse") -> a client logged in as a new nurse of `clinic`."""

    def make(role: str, clinics: list[Clinic] | None = None, **kwargs: Any) -> APIClient:
        if role == "superuser":
            user = make_user(role=Role.ADMIN, is_superuser=True, is_staff=True, **kwargs)
        else:
            user = make_user(role=role, clinics=[clinic] if clinics is None else clinics, **kwargs)
        api = client_for(user)
        api.user = user  # type: ignore[attr-defined]
        return api

    return make


# --- A real Celery worker ---------------------------------------------------------------------


class WorkerProcess:
    def __init__(self, process: subprocess.Popen[str], queue: str) -> None:
        self.process = process
        self.queue = queue
        self.lines: list[str] = []

    def follow(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, ""):
            self.lines.append(line)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(" ready." in line for line in self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("Celery worker did not start:\n" + "".join(self.lines[-50:]))

    def succeeded(self, task: str) -> int:
        """How many runs of `task` (its dotted name, or the end of it) the worker has logged as
        succeeded."""
        return sum(f"{task}[" in line and " succeeded " in line for line in self.lines)


def test_database_url() -> str:
    params = connection.settings_dict
    host = params["HOST"] or "localhost"
    port = params["PORT"] or "5432"
    password = params["PASSWORD"] or ""
    return f"postgres://{params['USER']}:{password}@{host}:{port}/{params['NAME']}"


@pytest.fixture(scope="session")
def celery_queue() -> str:
    """A queue of this test run's own, so that no other worker on the machine takes its tasks."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    celery_app.conf.task_default_queue = queue
    return queue


@pytest.fixture(scope="session")
def worker_sms_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the worker's SMS backend writes what it sends (one JSON line per message)."""
    return tmp_path_factory.mktemp("worker") / "sms.jsonl"


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """A process of the project, run from the repository with `env`, its output (stdout and
    stderr together) a text pipe for the caller to read, in a process group of its own so that a
    test can signal it with all its children."""
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def start_celery(
    *args: str, queue: str, sms_file: Path, env: dict[str, str] | None = None
) -> WorkerProcess:
    """A real `celery -A config <args>` process (a worker or beat) on the test database and
    Redis, sending its tasks to (and consuming) `queue`, writing its SMS to `sms_file`. It runs
    in a process group of its own (spawn), so a test can SIGKILL it with all its pool processes."""
    environment = dict(os.environ)
    environment.update(
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=celery_app.conf.broker_url,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="config.settings",
        SMS_BACKEND="clinic.messaging.FileSmsBackend",
        SMS_FILE_PATH=str(sms_file),
    )
    environment.update(env or {})
    process = spawn(
        [str(Path(sys.executable).parent / "celery"), "-A", "config", *args], environment
    )
    started = WorkerProcess(process, queue)
    threading.Thread(target=started.follow, daemon=True).start()
    return started


def start_worker(
    queue: str, sms_file: Path, *, concurrency: int = 2, env: dict[str, str] | None = None
) -> WorkerProcess:
    worker = start_celery(
        "worker",
        "--queues",
        queue,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"{queue}-{uuid.uuid4().hex[:6]}@%h",
        queue=queue,
        sms_file=sms_file,
        env=env,
    )
    worker.wait_ready()
    return worker


def stop(started: WorkerProcess) -> None:
    started.process.terminate()
    try:
        started.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        started.process.kill()
        started.process.wait()


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None, django_db_blocker: Any, celery_queue: str, worker_sms_file: Path
) -> Iterator[WorkerProcess]:
    """A real `celery worker` process on the test database and the test Redis."""
    with django_db_blocker.unblock():
        worker = start_worker(celery_queue, worker_sms_file)
    try:
        yield worker
    finally:
        stop(worker)


def _point_broker_at(url: str) -> None:
    # Celery caches its connection and producer pools: forget them (without closing: kombu
    # keeps pools per URL and hands the same one back) so the next send uses `url`.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url


@contextlib.contextmanager
def broker_at(url: str) -> Iterator[None]:
    """This process's Celery sends its tasks to `url` for the duration of the block."""
    original = celery_app.conf.broker_url
    _point_broker_at(url)
    try:
        yield
    finally:
        _point_broker_at(original)


def broker_unreachable() -> contextlib.AbstractContextManager[None]:
    """This process's Celery points at a port where nothing listens, as if Redis were down."""
    return broker_at("redis://127.0.0.1:1/0")


@pytest.fixture
def broker_down() -> Iterator[None]:
    with broker_unreachable():
        yield


def wait_for(predicate: Callable[[], Any], timeout: float = 15, interval: float = 0.1) -> Any:
    """Poll until predicate() is truthy; return its value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def audited_reads() -> list[tuple[str, str, int | None]]:
    """The read events of the audit trail, oldest first: (object_type, object_id, patient_id)."""
    return list(
        AuditEvent.objects.filter(action="read")
        .order_by("pk")
        .values_list("object_type", "object_id", "patient_id")
    )
