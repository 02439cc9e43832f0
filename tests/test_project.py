"""Project-wide checks: production settings pass `check --deploy`; the OpenAPI schema validates."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789-abcdefghijkl",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_ALLOWED_HOSTS": "clinic.example.org",
}


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_catches_an_insecure_configuration() -> None:
    # The same check must notice when TLS settings are off (so the test above means something).
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={**PRODUCTION_ENV, "DJANGO_SECURE_SSL_REDIRECT": "0"},
    )
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


def test_the_openapi_schema_validates_without_warnings() -> None:
    result = manage("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_and_swagger_ui_are_served(client) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/patients/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    # Swagger UI's assets come from the project (sidecar), not a CDN: nothing downloads.
    assert b"cdn.jsdelivr" not in docs.content


def _frozen_after(code: str) -> int:
    """How many objects a fresh interpreter has frozen out of the garbage collector after
    running `code` (the entry points must not leave it at 0)."""
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport gc\nprint(gc.get_freeze_count())"],
        cwd=REPO_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_web_and_worker_processes_freeze_what_they_load_at_start_up() -> None:
    """A full collection over the objects loaded at start-up paused every request of a worker
    for 90-125 ms; frozen, they are not scanned."""
    assert _frozen_after("import config.wsgi") > 50_000
    assert _frozen_after("import rest_framework.views") == 0  # what the count is without it
    worker = (
        "import django; django.setup()\n"
        "from celery.signals import worker_process_init\n"
        "import config.celery_app\n"
        "worker_process_init.send(sender=None)"
    )
    assert _frozen_after(worker) > 50_000
