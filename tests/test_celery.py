"""Celery plumbing: the settings the design asks for, beat's schedule in the database, and a
task enqueued on commit run by a real worker."""

from datetime import timedelta

import pytest
import redis
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from clinic.models import AuthToken
from clinic.tasks import auth_tokens_purge_expired
from config.celery_app import app as celery_app
from tests.conftest import wait_for


def test_celery_is_configured_for_reliable_delivery() -> None:
    conf = celery_app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert conf.worker_prefetch_multiplier == 1


@pytest.mark.django_db(transaction=True)  # the scheduler closes and reopens connections
def test_beat_schedule_defined_in_code_lands_in_the_database() -> None:
    DatabaseScheduler(app=celery_app)  # what `celery beat` builds at start-up
    task = PeriodicTask.objects.get(name="purge-expired-auth-tokens")
    assert task.task == "clinic.tasks.auth_tokens_purge_expired" and task.enabled


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_on_commit_runs_in_a_real_worker(celery_worker, make_user) -> None:
    user = make_user()
    long_ago = timezone.now() - timedelta(days=3)
    AuthToken.objects.create(
        user=user,
        key_hash="a" * 64,
        created_at=long_ago,
        last_used_at=long_ago,
        expires_at=long_ago + timedelta(hours=12),
    )
    broker = redis.Redis.from_url(celery_app.conf.broker_url)
    with transaction.atomic():
        auth_tokens_purge_expired.delay_on_commit()
        # Not sent while the transaction is open: the worker must never see uncommitted work.
        assert broker.llen(celery_worker.queue) == 0
    wait_for(lambda: not AuthToken.objects.exists(), timeout=30)
    assert celery_worker.succeeded("auth_tokens_purge_expired")


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_in_a_rolled_back_transaction_never_runs(celery_worker, make_user) -> None:
    broker = redis.Redis.from_url(celery_app.conf.broker_url)
    with pytest.raises(RuntimeError), transaction.atomic():
        auth_tokens_purge_expired.delay_on_commit()
        raise RuntimeError("roll back")
    assert broker.llen(celery_worker.queue) == 0
