"""The Celery application: configured from Django settings (CELERY_*), tasks found in the apps."""

import gc
import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init
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


def enqueue_on_commit(task: Any, *args: Any) -> None:
    """Send a task once the current transaction commits, and never let a broker outage undo
    the request: the work is already committed, and a beat sweep picks up what was not sent.

    Celery's delay_on_commit registers a non-robust callback, so a refused connection there
    would turn a committed write into a 500; this one is robust (Django logs and goes on)."""

    def send() -> None:
        task.delay(*args)

    send.__qualname__ = f"enqueue {getattr(task, 'name', task)}"  # what Django's log names
    transaction.on_commit(send, robust=True)
