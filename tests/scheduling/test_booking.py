"""Booking sessions (API.md "Sessions"): the rules, the 409s, and time zones."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from clinic.models import AuditEvent, Notification, Role
from scheduling.models import InfusionSession, SessionStatus
from tests.factories import (
    ChairFactory,
    ClinicFactory,
    PatientFactory,
    ProtocolFactory,
    SessionFactory,
)

from .conftest import BOOKED_MINUTES

NEW_YORK = ZoneInfo("America/New_York")


def book(client, payload, **changes):
    return client.post("/api/v1/sessions/", {**payload, **changes}, format="json")


@pytest.mark.django_db
def test_a_scheduler_books_a_session(api_as, booking, monday_9am) -> None:
    scheduler = api_as("scheduler")
    response = book(scheduler, booking)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("patient", "protocol", "chair", "nurse", "status")} == {
        "patient": booking["patient"],
        "protocol": booking["protocol"],
        "chair": booking["chair"],
        "nurse": None,
        "status": "scheduled",
    }
    starts = datetime.fromisoformat(body["starts_at"])
    assert starts == monday_9am
    assert datetime.fromisoformat(body["ends_at"]) - starts == timedelta(minutes=BOOKED_MINUTES)
    assert body["transitions"][0]["action"] == "book"
    assert body["transitions"][0]["actor"] == scheduler.user.pk
    assert AuditEvent.objects.filter(action="session_book", object_id=str(body["id"])).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("hour", "minute", "weekday_shift"),
    [
        (7, 45, 0),  # before opening
        (16, 45, 0),  # ends 18:10, after closing
        (9, 0, 5),  # Saturday
    ],
)
def test_outside_clinic_hours_is_400(
    api_as, booking, monday_9am, hour, minute, weekday_shift
) -> None:
    local = monday_9am.astimezone(NEW_YORK)
    day = local.date() + timedelta(days=(5 - local.weekday()) if weekday_shift else 0)
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)
    response = book(api_as("scheduler"), booking, starts_at=start.isoformat())
    assert response.status_code == 400
    assert response.json()["code"] == "outside_clinic_hours"
    assert "starts_at" in response.json()["fields"]
    assert not InfusionSession.objects.exists()


@pytest.mark.django_db
def test_the_last_start_that_fits_is_accepted(api_as, booking, monday_9am) -> None:
    local = monday_9am.astimezone(NEW_YORK)
    last = local.replace(hour=16, minute=35)  # 16:35 + 85 min = 18:00 exactly
    assert book(api_as("scheduler"), booking, starts_at=last.isoformat()).status_code == 201


@pytest.mark.django_db
def test_a_start_in_the_past_is_400_but_a_walk_in_is_allowed(api_as, booking) -> None:
    local_now = datetime(2030, 1, 7, 12, 0, tzinfo=NEW_YORK)  # a Monday
    with time_machine.travel(local_now, tick=False):
        scheduler = api_as("scheduler")
        past = book(scheduler, booking, starts_at=(local_now - timedelta(minutes=16)).isoformat())
        assert past.status_code == 400 and "starts_at" in past.json()["fields"]
        walk_in = book(
            scheduler, booking, starts_at=(local_now - timedelta(minutes=15)).isoformat()
        )
        assert walk_in.status_code == 201


@pytest.mark.django_db
def test_a_naive_timestamp_is_400(api_as, booking, monday_9am) -> None:
    naive = monday_9am.replace(tzinfo=None).isoformat()
    response = book(api_as("scheduler"), booking, starts_at=naive)
    assert response.status_code == 400 and "starts_at" in response.json()["fields"]


@pytest.mark.django_db
def test_another_clinics_chair_is_unknown(api_as, booking, other_clinic) -> None:
    foreign = ChairFactory.create(clinic=other_clinic)
    response = book(api_as("scheduler"), booking, chair=foreign.pk)
    assert response.status_code == 400 and "chair" in response.json()["fields"]


@pytest.mark.django_db
def test_chair_and_patient_must_be_of_the_same_clinic(
    api_as, booking, clinic, other_clinic
) -> None:
    admin = api_as("admin", clinics=[clinic, other_clinic])
    foreign_chair = ChairFactory.create(clinic=other_clinic)
    response = book(admin, booking, chair=foreign_chair.pk)
    assert response.status_code == 400 and "patient" in response.json()["fields"]
    foreign_protocol = ProtocolFactory.create(clinic=other_clinic)
    response = book(admin, booking, protocol=foreign_protocol.pk)
    assert response.status_code == 400 and "protocol" in response.json()["fields"]


@pytest.mark.django_db
def test_unreviewed_contraindications_block_booking_until_a_clinician_reviews(
    api_as, booking, patient
) -> None:
    patient.contraindications = ["uncontrolled_hypertension"]
    patient.save()
    scheduler = api_as("scheduler")
    response = book(scheduler, booking)
    assert response.status_code == 409
    assert response.json()["code"] == "contraindications_unreviewed"
    assert response.json()["contraindications"] == ["uncontrolled_hypertension"]
    assert (
        api_as("nurse").post(f"/api/v1/patients/{patient.pk}/contraindications-review/").status_code
        == 403
    )
    reviewed = api_as("clinician").post(f"/api/v1/patients/{patient.pk}/contraindications-review/")
    assert reviewed.status_code == 200 and reviewed.json()["contraindications_unreviewed"] is False
    assert book(scheduler, booking).status_code == 201


@pytest.mark.django_db
def test_an_overlapping_booking_on_the_same_chair_is_409_chair(
    api_as, booking, clinic, monday_9am
) -> None:
    scheduler = api_as("scheduler")
    assert book(scheduler, booking).status_code == 201
    someone_else = PatientFactory.create(clinic=clinic)
    response = book(
        scheduler,
        booking,
        patient=someone_else.pk,
        starts_at=(monday_9am + timedelta(minutes=84)).isoformat(),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "slot_conflict" and response.json()["conflict"] == "chair"
    back_to_back = book(
        scheduler,
        booking,
        patient=someone_else.pk,
        starts_at=(monday_9am + timedelta(minutes=85)).isoformat(),
    )
    assert back_to_back.status_code == 201


@pytest.mark.django_db
def test_the_same_patient_on_two_chairs_at_once_is_409_patient(
    api_as, booking, chairs, monday_9am
) -> None:
    scheduler = api_as("scheduler")
    assert book(scheduler, booking).status_code == 201
    response = book(
        scheduler,
        booking,
        chair=chairs[1].pk,
        starts_at=(monday_9am + timedelta(minutes=30)).isoformat(),
    )
    assert response.status_code == 409 and response.json()["conflict"] == "patient"


@pytest.mark.django_db
def test_a_cancelled_session_frees_its_chair(api_as, booking, clinic) -> None:
    scheduler = api_as("scheduler")
    first = book(scheduler, booking).json()
    scheduler.post(
        f"/api/v1/sessions/{first['id']}/cancel/", {"reason": "patient unwell"}, format="json"
    )
    other = PatientFactory.create(clinic=clinic)
    assert book(scheduler, booking, patient=other.pk).status_code == 201


@pytest.mark.django_db
def test_a_nurse_takes_at_most_the_clinics_limit_of_concurrent_patients(
    api_as, booking, clinic, chairs, make_user
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    scheduler = api_as("scheduler")
    for seat in chairs[:2]:
        patient = PatientFactory.create(clinic=clinic)
        assert (
            book(scheduler, booking, chair=seat.pk, patient=patient.pk, nurse=nurse.pk).status_code
            == 201
        )
    third = PatientFactory.create(clinic=clinic)
    response = book(scheduler, booking, chair=chairs[2].pk, patient=third.pk, nurse=nurse.pk)
    assert response.status_code == 409 and response.json()["conflict"] == "nurse"
    clinic.nurse_concurrent_patient_limit = 3
    clinic.save()
    assert (
        book(scheduler, booking, chair=chairs[2].pk, patient=third.pk, nurse=nurse.pk).status_code
        == 201
    )


@pytest.mark.django_db
def test_the_nurse_must_be_a_nurse_of_the_clinic(
    api_as, booking, clinic, other_clinic, make_user
) -> None:
    scheduler = api_as("scheduler")
    clinician = make_user(role=Role.CLINICIAN, clinics=[clinic])
    assert "nurse" in book(scheduler, booking, nurse=clinician.pk).json()["fields"]
    foreign_nurse = make_user(role=Role.NURSE, clinics=[other_clinic])
    assert "nurse" in book(scheduler, booking, nurse=foreign_nurse.pk).json()["fields"]


@pytest.mark.django_db
def test_a_daylight_saving_day_in_new_york(api_as, make_user) -> None:
    """Sunday 14 March 2027: clocks go from 02:00 EST to 03:00 EDT. A clinic open on Sundays
    books 08:00 local, which is 12:00 UTC (it would be 13:00 UTC the day before)."""
    clinic = ClinicFactory.create(open_weekdays=[0, 1, 2, 3, 4, 5, 6])
    chair = ChairFactory.create(clinic=clinic)
    protocol = ProtocolFactory.create(clinic=clinic)
    patient = PatientFactory.create(clinic=clinic)
    payload = {"patient": patient.pk, "protocol": protocol.pk, "chair": chair.pk}
    with time_machine.travel(datetime(2027, 3, 1, 12, tzinfo=NEW_YORK), tick=False):
        scheduler = api_as("scheduler", clinics=[clinic])
        sunday = book(scheduler, payload, starts_at="2027-03-14T08:00:00-04:00")
        assert sunday.status_code == 201, sunday.json()
        assert sunday.json()["starts_at"] == "2027-03-14T12:00:00Z"
        # Another patient: 08:00 on both days is 23 hours apart here, within one patient's
        # minimum gap between infusions (24 h).
        other = {**payload, "patient": PatientFactory.create(clinic=clinic).pk}
        saturday = book(scheduler, other, starts_at="2027-03-13T08:00:00-05:00")
        assert saturday.json()["starts_at"] == "2027-03-13T13:00:00Z"
        # 07:30 EDT is before opening even though it is 08:30 by the clock of the day before.
        early = book(scheduler, payload, starts_at="2027-03-14T11:30:00Z")
        assert early.status_code == 400
        slots = scheduler.get(
            f"/api/v1/availability/?clinic={clinic.pk}&protocol={protocol.pk}&date=2027-03-14"
        )
        first = slots.json()["results"][0]
        assert first["starts_at"] == "2027-03-14T13:30:00Z"  # 08:00-09:25 is booked: 09:30 EDT
        listed = scheduler.get("/api/v1/sessions/?date=2027-03-14").json()["results"]
        assert [row["id"] for row in listed] == [sunday.json()["id"]]


@pytest.mark.django_db
def test_sessions_of_another_clinic_are_404(api_as, other_clinic) -> None:
    theirs = SessionFactory.create(patient=PatientFactory.create(clinic=other_clinic))
    nurse = api_as("nurse")
    for path in ("", "check-in/", "complete/", "no-show/"):
        method = nurse.get if not path else nurse.post
        assert method(f"/api/v1/sessions/{theirs.pk}/{path}", {}, format="json").status_code == 404
    assert nurse.get("/api/v1/sessions/").json()["results"] == []


@pytest.mark.django_db
def test_a_patient_sees_only_their_own_sessions(api_as, make_user, clinic) -> None:
    from tests.conftest import client_for

    user = make_user(role=Role.PATIENT)
    mine = SessionFactory.create(patient=PatientFactory.create(clinic=clinic, user=user))
    SessionFactory.create(patient=PatientFactory.create(clinic=clinic))
    client = client_for(user)
    assert [s["id"] for s in client.get("/api/v1/sessions/").json()["results"]] == [mine.pk]


@pytest.mark.django_db
def test_the_session_list_filters(api_as, clinic, monday_9am) -> None:
    a = SessionFactory.create(patient=PatientFactory.create(clinic=clinic), starts_at=monday_9am)
    b = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic), starts_at=monday_9am + timedelta(days=1)
    )
    b.status = SessionStatus.CANCELLED
    b.save()
    nurse = api_as("nurse")

    def ids(query: str) -> list[int]:
        return sorted(s["id"] for s in nurse.get(f"/api/v1/sessions/?{query}").json()["results"])

    day = monday_9am.astimezone(NEW_YORK).date()
    assert ids(f"date={day}") == [a.pk]
    assert ids(f"patient={b.patient_id}") == [b.pk]
    assert ids("status=cancelled") == [b.pk]
    assert ids(f"clinic={clinic.pk}") == sorted([a.pk, b.pk])
    assert nurse.get("/api/v1/sessions/?status=bogus").status_code == 400
    assert nurse.get("/api/v1/sessions/?date=yesterday").status_code == 400


@pytest.mark.django_db
def test_booking_writes_the_reminders_at_once(api_as, booking, monday_9am, patient) -> None:
    body = book(api_as("scheduler"), booking).json()
    reminders = Notification.objects.filter(session=body["id"]).order_by("scheduled_for")
    assert [(n.kind, n.status, n.channel, n.recipient) for n in reminders] == [
        ("appointment_reminder", "pending", "sms", patient.phone)
    ] * 2
    # 48 h before; the 2-hour one would be 07:00, in quiet hours (21:00-08:00), so it waits
    # for the end of them: 08:00, an hour before the infusion.
    assert [monday_9am - n.scheduled_for for n in reminders] == [
        timedelta(hours=48),
        timedelta(hours=1),
    ]
    text = reminders[0].body
    local = monday_9am.astimezone(NEW_YORK)
    assert f"{local:%H:%M}" in text and "America/New_York" in text
    assert "solid food" in text and "drive" in text and "adult" in text
