"""The database refuses double bookings on its own; reminders follow the patient's opt-ins."""

from datetime import timedelta

import icalendar
import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction

from clinic.models import Notification, NotificationStatus
from clinic.services import notification_deliver
from scheduling.models import InfusionSession, SessionStatus
from scheduling.services import session_book
from tests.factories import ChairFactory, PatientFactory, SessionFactory, UserFactory


def violates(constraint: str, action) -> None:
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        action()
    assert getattr(caught.value.__cause__, "diag").constraint_name == constraint  # noqa: B009


@pytest.mark.django_db
def test_session_constraints(clinic, monday_9am) -> None:
    session = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic), starts_at=monday_9am
    )
    rows = InfusionSession.objects.filter(pk=session.pk)
    violates("session_ends_after_start", lambda: rows.update(ends_at=session.starts_at))
    violates("session_status_valid", lambda: rows.update(status="teleported"))

    def same_chair() -> None:
        SessionFactory.create(
            patient=PatientFactory.create(clinic=clinic),
            chair=session.chair,
            starts_at=monday_9am + timedelta(minutes=30),
        )

    def same_patient() -> None:
        SessionFactory.create(
            patient=session.patient,
            chair=ChairFactory.create(clinic=clinic),
            starts_at=monday_9am + timedelta(minutes=30),
        )

    violates("session_chair_no_overlap", same_chair)
    violates("session_patient_no_overlap", same_patient)
    rows.update(status=SessionStatus.CANCELLED)
    same_chair()  # a cancelled session holds nothing
    same_patient()


@pytest.mark.django_db
def test_notification_constraints(clinic) -> None:
    patient = PatientFactory.create(clinic=clinic)
    note = Notification.objects.create(
        clinic=clinic,
        patient=patient,
        channel="sms",
        recipient=patient.phone,
        kind="alert",
        body="x",
        scheduled_for=clinic.created_at,
        dedup_key="k",
    )
    rows = Notification.objects.filter(pk=note.pk)
    violates("notification_status_valid", lambda: rows.update(status="lost"))
    violates("notification_sent_has_sent_at", lambda: rows.update(status=NotificationStatus.SENT))


def _book(clinic, patient, protocol, chair, monday_9am):
    return session_book(
        actor=UserFactory.create(role="scheduler", clinics=[clinic]),
        patient=patient,
        protocol=protocol,
        chair=chair,
        starts_at=monday_9am,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("preferred", "sms_opt_in", "email_opt_in", "expected"),
    [
        ("sms", True, True, "sms"),
        ("email", True, True, "email"),
        ("sms", False, True, "email"),  # opted out of the preferred one: the other
        ("email", True, False, "sms"),
        ("sms", False, False, None),  # opted out of everything: no reminders
    ],
)
def test_reminders_follow_the_preferred_channel_and_opt_ins(
    clinic, protocol, chair, monday_9am, preferred, sms_opt_in, email_opt_in, expected
) -> None:
    patient = PatientFactory.create(
        clinic=clinic, preferred_channel=preferred, sms_opt_in=sms_opt_in, email_opt_in=email_opt_in
    )
    session = _book(clinic, patient, protocol, chair, monday_9am)
    channels = set(
        Notification.objects.filter(session=session.pk).values_list("channel", flat=True)
    )
    assert channels == ({expected} if expected else set())


@pytest.mark.django_db
def test_an_e_mail_reminder_carries_the_calendar_event(clinic, protocol, chair, monday_9am) -> None:
    patient = PatientFactory.create(clinic=clinic, preferred_channel="email")
    session = _book(clinic, patient, protocol, chair, monday_9am)
    reminder = Notification.objects.filter(session=session.pk).order_by("scheduled_for").first()
    assert reminder is not None
    with time_machine.travel(reminder.scheduled_for, tick=False):
        assert notification_deliver(notification_id=reminder.pk) == "sent"
    message = mail.outbox[0]
    ((name, content, mimetype),) = message.attachments
    assert name == "infusion.ics" and mimetype.startswith("text/calendar")
    event = next(iter(icalendar.Calendar.from_ical(content).walk("VEVENT")))
    assert event.decoded("DTSTART") == monday_9am
    assert event.decoded("DTEND") == session.ends_at
