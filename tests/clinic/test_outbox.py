"""The notification outbox: delivered exactly once, held in quiet hours, retried with backoff,
and cancelled messages never leave (DESIGN.md decision 5)."""

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection

from clinic.messaging import DeliveryError, InMemorySmsBackend
from clinic.models import Notification, NotificationKind, NotificationStatus
from clinic.services import (
    NOTIFICATION_MAX_ATTEMPTS,
    notification_deliver,
    notification_due_ids,
    notification_schedule,
    notifications_cancel,
)
from tests.factories import PatientFactory

NEW_YORK = ZoneInfo("America/New_York")
NOON = datetime(2030, 1, 7, 12, 0, tzinfo=NEW_YORK)


class FlakySmsBackend:
    """Fails with a retryable error; `permanent` makes it a non-retryable one."""

    permanent = False
    calls = 0

    def send(self, *, to: str, body: str, reference: str) -> str:
        type(self).calls += 1
        raise DeliveryError("provider said no", retryable=not self.permanent)


@pytest.fixture(autouse=True)
def in_memory_sms(settings):
    settings.SMS_BACKEND = "clinic.messaging.InMemorySmsBackend"
    InMemorySmsBackend.outbox.clear()
    FlakySmsBackend.calls = 0
    FlakySmsBackend.permanent = False
    yield InMemorySmsBackend.outbox
    InMemorySmsBackend.outbox.clear()


def make_message(clinic, *, due=NOON, channel="sms", urgent=False, key="m1", patient=None):
    patient = patient or PatientFactory.create(clinic=clinic)
    return notification_schedule(
        clinic=clinic,
        kind=NotificationKind.APPOINTMENT_REMINDER,
        channel=channel,
        recipient=patient.phone if channel == "sms" else patient.email,
        subject="Your infusion",
        body="See you soon",
        scheduled_for=due,
        dedup_key=key,
        patient=patient,
        urgent=urgent,
    )


@pytest.mark.django_db
def test_a_due_message_is_sent_once(clinic, in_memory_sms) -> None:
    message = make_message(clinic)
    with time_machine.travel(NOON, tick=False):
        assert notification_due_ids() == [message.pk]
        assert notification_deliver(notification_id=message.pk) == "sent"
        assert notification_deliver(notification_id=message.pk) == "not_claimed"  # redelivered task
        assert notification_due_ids() == []
    message.refresh_from_db()
    assert message.status == NotificationStatus.SENT and message.sent_at == NOON
    assert message.attempts == 1 and message.provider_message_id
    assert [(sms.to, sms.body) for sms in in_memory_sms] == [(message.recipient, "See you soon")]


@pytest.mark.django_db
def test_a_message_is_not_sent_before_its_time(clinic, in_memory_sms) -> None:
    message = make_message(clinic)
    with time_machine.travel(NOON - timedelta(seconds=1), tick=False):
        assert notification_due_ids() == []
        assert notification_deliver(notification_id=message.pk) == "not_claimed"
    assert in_memory_sms == []


@pytest.mark.django_db
def test_the_same_dedup_key_is_the_same_message(clinic) -> None:
    first = make_message(clinic, key="same")
    second = make_message(clinic, key="same")
    assert first.pk == second.pk and Notification.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_message_send_it_once(clinic, in_memory_sms) -> None:
    message = make_message(clinic)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        try:
            outcomes.append(notification_deliver(notification_id=message.pk))
        finally:
            connection.close()

    with time_machine.travel(NOON, tick=False):
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["not_claimed"] * 3 + ["sent"]
    assert len(in_memory_sms) == 1


@pytest.mark.django_db
def test_a_crashed_claim_expires_and_the_message_is_handed_on(clinic, in_memory_sms) -> None:
    message = make_message(clinic)
    Notification.objects.filter(pk=message.pk).update(claimed_until=NOON + timedelta(minutes=2))
    with time_machine.travel(NOON, tick=False):
        assert notification_due_ids() == []  # someone holds it
    with time_machine.travel(NOON + timedelta(minutes=2, seconds=1), tick=False):
        assert notification_due_ids() == [message.pk]
        assert notification_deliver(notification_id=message.pk) == "sent"


@pytest.mark.django_db
def test_quiet_hours_hold_non_urgent_messages_until_morning(clinic, in_memory_sms) -> None:
    late = datetime(2030, 1, 7, 22, 30, tzinfo=NEW_YORK)
    message = make_message(clinic, due=late)
    with time_machine.travel(late, tick=False):
        assert notification_deliver(notification_id=message.pk) == "held"
    message.refresh_from_db()
    assert message.status == "pending" and message.attempts == 0
    assert message.scheduled_for == datetime(2030, 1, 8, 8, 0, tzinfo=NEW_YORK)
    with time_machine.travel(datetime(2030, 1, 8, 7, 59, tzinfo=NEW_YORK), tick=False):
        assert notification_due_ids() == []
    with time_machine.travel(datetime(2030, 1, 8, 8, 0, tzinfo=NEW_YORK), tick=False):
        assert notification_deliver(notification_id=message.pk) == "sent"
    assert len(in_memory_sms) == 1


@pytest.mark.django_db
def test_urgent_messages_ignore_quiet_hours(clinic, in_memory_sms) -> None:
    late = datetime(2030, 1, 7, 23, 0, tzinfo=NEW_YORK)
    message = make_message(clinic, due=late, urgent=True)
    with time_machine.travel(late, tick=False):
        assert notification_deliver(notification_id=message.pk) == "sent"


@pytest.mark.django_db
def test_quiet_hours_are_a_clinic_setting(clinic, in_memory_sms) -> None:
    clinic.quiet_hours_start, clinic.quiet_hours_end = time(23, 0), time(7, 0)
    clinic.save()
    late = datetime(2030, 1, 7, 22, 30, tzinfo=NEW_YORK)
    message = make_message(clinic, due=late)
    with time_machine.travel(late, tick=False):
        assert notification_deliver(notification_id=message.pk) == "sent"


@pytest.mark.django_db
def test_failures_retry_with_backoff_then_fail_visibly(clinic, settings) -> None:
    settings.SMS_BACKEND = "tests.clinic.test_outbox.FlakySmsBackend"
    message = make_message(clinic)
    moment = NOON
    delays = []
    for _ in range(NOTIFICATION_MAX_ATTEMPTS - 1):
        with time_machine.travel(moment, tick=False):
            assert notification_deliver(notification_id=message.pk) == "retry"
        message.refresh_from_db()
        delays.append(message.scheduled_for - moment)
        moment = message.scheduled_for
    assert delays == [timedelta(seconds=30 * 2**n) for n in range(NOTIFICATION_MAX_ATTEMPTS - 1)]
    with time_machine.travel(moment, tick=False):
        assert notification_deliver(notification_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == NOTIFICATION_MAX_ATTEMPTS
    assert message.last_error == "provider said no"
    assert FlakySmsBackend.calls == NOTIFICATION_MAX_ATTEMPTS


@pytest.mark.django_db
def test_a_permanent_failure_fails_at_once(clinic, settings) -> None:
    settings.SMS_BACKEND = "tests.clinic.test_outbox.FlakySmsBackend"
    FlakySmsBackend.permanent = True
    message = make_message(clinic)
    with time_machine.travel(NOON, tick=False):
        assert notification_deliver(notification_id=message.pk) == "failed"


@pytest.mark.django_db
def test_a_cancelled_message_is_never_sent(clinic, in_memory_sms) -> None:
    patient = PatientFactory.create(clinic=clinic)
    message = make_message(clinic, patient=patient)
    Notification.objects.filter(pk=message.pk).update(session=42)
    assert notifications_cancel(session=42) == 1
    with time_machine.travel(NOON, tick=False):
        assert notification_deliver(notification_id=message.pk) == "not_claimed"
    assert in_memory_sms == []


@pytest.mark.django_db
def test_e_mail_goes_through_djangos_backend(clinic) -> None:
    message = make_message(clinic, channel="email")
    with time_machine.travel(NOON, tick=False):
        assert notification_deliver(notification_id=message.pk) == "sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [message.recipient] and mail.outbox[0].subject == "Your infusion"


@pytest.mark.django_db
def test_admins_list_notifications_with_filters(api_as, clinic, other_clinic) -> None:
    mine = make_message(clinic, key="mine")
    make_message(other_clinic, key="theirs")
    admin = api_as("admin")
    rows = admin.get("/api/v1/notifications/").json()["results"]
    assert [row["id"] for row in rows] == [mine.pk]
    assert set(rows[0]) >= {
        "id",
        "channel",
        "recipient",
        "kind",
        "status",
        "scheduled_for",
        "sent_at",
        "session",
        "survey",
    }
    assert admin.get(
        f"/api/v1/notifications/?patient={mine.patient_id}&status=pending&kind=appointment_reminder"
    ).json()["results"]
    assert admin.get("/api/v1/notifications/?status=sent").json()["results"] == []
    assert admin.get("/api/v1/notifications/?kind=bogus").status_code == 400


class BrokenSmsBackend:
    """Fails the way a bug or a misconfiguration would: not with a DeliveryError."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        raise RuntimeError(f"could not reach {to}")  # a text that names the recipient


@pytest.mark.django_db
def test_an_unexpected_error_is_retried_without_personal_data(clinic, settings) -> None:
    settings.SMS_BACKEND = "tests.clinic.test_outbox.BrokenSmsBackend"
    message = make_message(clinic)
    with time_machine.travel(NOON, tick=False):
        assert notification_deliver(notification_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == "pending" and message.last_error == "RuntimeError while sending"
    assert message.recipient not in message.last_error


@pytest.mark.django_db
def test_a_message_whose_last_attempt_died_ends_failed(clinic) -> None:
    from clinic.services import notifications_fail_abandoned

    message = make_message(clinic)
    Notification.objects.filter(pk=message.pk).update(
        attempts=NOTIFICATION_MAX_ATTEMPTS, claimed_until=NOON + timedelta(minutes=5)
    )
    with time_machine.travel(NOON + timedelta(minutes=1), tick=False):
        assert notification_due_ids() == []
        assert notifications_fail_abandoned() == 0  # its worker may still be sending
    with time_machine.travel(NOON + timedelta(minutes=6), tick=False):
        assert notification_due_ids() == []  # never claimed a sixth time
        assert notifications_fail_abandoned() == 1
    message.refresh_from_db()
    assert message.status == "failed" and "Gave up" in message.last_error
