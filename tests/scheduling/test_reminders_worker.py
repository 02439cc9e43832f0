"""Reminders through a real Celery worker: the beat sweep finds what is due, a delivery task
sends it, once, even when the task is delivered twice."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.models import Notification, NotificationStatus
from clinic.tasks import notification_deliver, notifications_deliver_due
from scheduling.services import session_book
from tests.conftest import wait_for
from tests.factories import (
    ChairFactory,
    PatientFactory,
    ProtocolFactory,
    UserFactory,
    next_weekday_at,
)


def sent_lines(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.django_db(transaction=True)
def test_a_due_reminder_is_delivered_once_by_the_worker(
    celery_worker, worker_sms_file, clinic
) -> None:
    patient = PatientFactory.create(clinic=clinic, phone="+15550001111")
    session = session_book(
        actor=UserFactory.create(role="scheduler", clinics=[clinic]),
        patient=patient,
        protocol=ProtocolFactory.create(clinic=clinic),
        chair=ChairFactory.create(clinic=clinic),
        starts_at=next_weekday_at(10),
    )
    reminder = Notification.objects.filter(session=session.pk).order_by("scheduled_for").first()
    assert reminder is not None
    # Make it due now (noon UTC is outside New York's quiet hours only by day; choose urgent).
    Notification.objects.filter(pk=reminder.pk).update(
        scheduled_for=timezone.now() - timedelta(seconds=1), urgent=True
    )
    notifications_deliver_due.delay()  # what beat runs every 10 seconds
    notification_deliver.delay(reminder.pk)  # and a duplicate, as a redelivered task would be
    wait_for(
        lambda: Notification.objects.get(pk=reminder.pk).status == NotificationStatus.SENT,
        timeout=30,
    )
    wait_for(
        lambda: celery_worker.succeeded("notification_deliver") >= 2,
        timeout=30,
    )
    mine = [line for line in sent_lines(worker_sms_file) if line["reference"] == reminder.dedup_key]
    assert len(mine) == 1
    assert mine[0]["to"] == "+15550001111" and "infusion" in mine[0]["body"]
