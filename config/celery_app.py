"""The Celery application: configured from Django settings (CELERY_*), tasks found in the apps."""

import gc
import logging
import os
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, worker_process_init
from django.conf import settings
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _freeze_start_up_objects(**_: Any) -> None:
    """A pool process starts with everything its parent loaded; kept out of the garbage
    collector's full collections, as in gunicorn's workers (config/wsgi.py)."""
    gc.freeze()


class SweepHeartbeatFilter(logging.Filter):
    """Drops the lines every beat tick writes: beat's "Sending due task" and the worker's
    "received" / "succeeded" of the scheduled sweeps (a dozen lines every few seconds that
    bury what matters in `make run`'s log). Other tasks' lines, and every warning or error,
    stay."""

    def __init__(self) -> None:
        super().__init__()
        self.sweeps = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        if record.name == "celery.beat":
            return not record.getMessage().startswith("Scheduler: Sending due task")
        if record.name in ("celery.app.trace", "celery.worker.strategy"):
            return not any(f"{sweep}[" in record.getMessage() for sweep in self.sweeps)
        return True


@after_setup_logger.connect
def _quiet_sweep_heartbeats(logger: logging.Logger, **_: Any) -> None:
    # `make run` (config/launcher.py) asks for it; tests and the bench read these lines.
    if os.environ.get("CELERY_QUIET_SWEEPS") == "1":
        for handler in logger.handlers:
            handler.addFilter(SweepHeartbeatFilter())


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """Send a task once the current transaction commits, and never let a broker outage undo
    the request: the work is already committed, and a beat sweep picks up what was not sent.

    Celery's delay_on_commit registers a non-robust callback, so a refused connection there
    would turn a committed write into a 500; this one is robust (Django logs and goes on)."""

    def send() -> None:
        task.delay(*args)

    send.__qualname__ = f"enqueue {getattr(task, 'name', task)}"  # what Django's log names
    transaction.on_commit(send, robust=True)
