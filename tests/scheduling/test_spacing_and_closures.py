"""Issue 13, points 5 and 6: a patient's infusions start at least the clinic's
`min_hours_between_infusions` apart (CLINICAL.md "Spacing"), and closures keep bookings,
availability and suggestions out of closed days and hours."""

import itertools
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from clinic.models import ClinicClosure, Role
from scheduling.availability import ClinicHours, PatientSpacing, free_slots, suggest_series
from tests.conftest import book_session, client_for
from tests.factories import PatientFactory
from tests.scheduling.test_concurrency import race

NEW_YORK_HOURS: dict[str, Any] = {
    "opening_time": time(8),
    "closing_time": time(18),
    "open_weekdays": frozenset(range(5)),
}


# --- Spacing --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("hours_later", "expected"),
    [(23.75, 409), (24, 201), (30, 201)],
)
def test_a_patients_second_infusion_keeps_the_gap(
    api_as, clinic, chairs, protocol, monday_9am, hours_later, expected
) -> None:
    scheduler = api_as("scheduler")
    patient = PatientFactory.create(clinic=clinic)
    assert book_session(scheduler, patient, protocol, chairs[0], monday_9am).status_code == 201
    second = book_session(
        scheduler, patient, protocol, chairs[1], monday_9am + timedelta(hours=hours_later)
    )
    assert second.status_code == expected, second.json()
    if expected == 409:
        body = second.json()
        assert (body["code"], body["conflict"]) == ("slot_conflict", "patient_interval")
        assert "24 hours" in body["message"]


@pytest.mark.django_db
def test_the_same_day_afternoon_is_refused_and_the_gap_is_a_clinic_setting(
    api_as, clinic, chairs, protocol, monday_9am
) -> None:
    scheduler = api_as("scheduler")
    patient = PatientFactory.create(clinic=clinic)
    assert book_session(scheduler, patient, protocol, chairs[0], monday_9am).status_code == 201
    afternoon = monday_9am + timedelta(hours=5)
    assert book_session(scheduler, patient, protocol, chairs[1], afternoon).json()["conflict"] == (
        "patient_interval"
    )
    clinic.min_hours_between_infusions = 4
    clinic.save()
    assert book_session(scheduler, patient, protocol, chairs[1], afternoon).status_code == 201


@pytest.mark.django_db
def test_an_overlap_is_still_named_patient(api_as, clinic, chairs, protocol, monday_9am) -> None:
    scheduler = api_as("scheduler")
    patient = PatientFactory.create(clinic=clinic)
    assert book_session(scheduler, patient, protocol, chairs[0], monday_9am).status_code == 201
    again = book_session(
        scheduler, patient, protocol, chairs[1], monday_9am + timedelta(minutes=15)
    )
    assert again.json()["conflict"] == "patient"


@pytest.mark.django_db
def test_a_cancelled_session_does_not_count(api_as, clinic, chairs, protocol, monday_9am) -> None:
    scheduler = api_as("scheduler")
    patient = PatientFactory.create(clinic=clinic)
    first = book_session(scheduler, patient, protocol, chairs[0], monday_9am).json()
    scheduler.post(f"/api/v1/sessions/{first['id']}/cancel/", {"reason": "ill"}, format="json")
    later = monday_9am + timedelta(hours=3)
    assert book_session(scheduler, patient, protocol, chairs[1], later).status_code == 201


@pytest.mark.django_db
def test_a_reschedule_keeps_the_gap_but_not_against_itself(
    api_as, clinic, chairs, protocol, monday_9am
) -> None:
    scheduler = api_as("scheduler")
    patient = PatientFactory.create(clinic=clinic)
    first = book_session(scheduler, patient, protocol, chairs[0], monday_9am).json()
    second = book_session(
        scheduler, patient, protocol, chairs[0], monday_9am + timedelta(days=2)
    ).json()
    moved = scheduler.post(
        f"/api/v1/sessions/{first['id']}/reschedule/",
        {"starts_at": (monday_9am + timedelta(hours=2)).isoformat()},
        format="json",
    )
    assert moved.status_code == 200, moved.json()  # only 2 h from its own old start
    refused = scheduler.post(
        f"/api/v1/sessions/{second['id']}/reschedule/",
        {"starts_at": (monday_9am + timedelta(hours=25)).isoformat()},  # 23 h after the first
        format="json",
    )
    assert refused.json()["conflict"] == "patient_interval"


@pytest.mark.django_db(transaction=True)
def test_two_bookings_of_one_patient_racing_within_the_gap_one_wins(
    make_user, clinic, chairs, protocol, monday_9am
) -> None:
    """The gap is a count over other rows, not an overlap the database could refuse: the
    patient's row lock makes the second booking see the first."""
    patient = PatientFactory.create(clinic=clinic)
    clients = [client_for(make_user(role=Role.SCHEDULER, clinics=[clinic])) for _ in range(4)]
    payloads = [
        {
            "patient": patient.pk,
            "protocol": protocol.pk,
            "chair": chairs[index % len(chairs)].pk,
            "starts_at": (monday_9am + timedelta(hours=2 * index)).isoformat(),
        }
        for index in range(4)
    ]
    results = race(clients, payloads)
    assert Counter(status for status, _ in results) == {201: 1, 409: 3}
    assert {body["conflict"] for status, body in results if status == 409} <= {
        "patient_interval",
        "patient",
    }


def test_suggest_keeps_the_gap_between_its_own_picks_and_the_patients_bookings() -> None:
    from zoneinfo import ZoneInfo

    hours = ClinicHours(tz=ZoneInfo("America/New_York"), **NEW_YORK_HOURS)
    monday = date(2030, 1, 7)
    booked_tuesday = datetime(2030, 1, 8, 15, tzinfo=hours.tz)
    slots = suggest_series(
        first_day=monday,
        count=3,
        within_days=5,
        preferred_time=time(9),
        hours=hours,
        duration=timedelta(minutes=85),
        chair_ids=[1],
        bookings=[],
        patient_busy=[(booked_tuesday, booked_tuesday + timedelta(minutes=85))],
        min_gap=timedelta(hours=24),
    )
    starts = sorted([booked_tuesday, *(slot.starts_at for slot in slots)])
    assert all(b - a >= timedelta(hours=24) for a, b in itertools.pairwise(starts))
    # Wednesday 09:00 would be 18 h after Tuesday 15:00: the first start that day is 15:00.
    assert slots[1].starts_at.astimezone(hours.tz) == datetime(2030, 1, 9, 15, tzinfo=hours.tz)


def test_free_slots_given_a_patient_leave_out_starts_within_the_gap() -> None:
    from zoneinfo import ZoneInfo

    hours = ClinicHours(tz=ZoneInfo("America/New_York"), **NEW_YORK_HOURS)
    booked = datetime(2030, 1, 7, 12, tzinfo=hours.tz)
    spacing = PatientSpacing([(booked, booked + timedelta(hours=1))], timedelta(hours=24))
    common: dict[str, Any] = {
        "hours": hours,
        "duration": timedelta(minutes=60),
        "chair_ids": [1],
        "bookings": [],
        "patient": spacing,
    }
    assert free_slots(day=date(2030, 1, 7), **common) == []
    tuesday = free_slots(day=date(2030, 1, 8), **common)
    assert tuesday[0].starts_at.astimezone(hours.tz).time() == time(12)


# --- Closures -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_closed_day_refuses_bookings_and_offers_nothing(
    api_as, clinic, chair, protocol, monday_9am
) -> None:
    day = monday_9am.astimezone(clinic.zone).date()
    ClinicClosure.objects.create(clinic=clinic, date=day, reason="Christmas Day")
    scheduler = api_as("scheduler")
    response = book_session(
        scheduler, PatientFactory.create(clinic=clinic), protocol, chair, monday_9am
    )
    body = response.json()
    assert response.status_code == 409
    assert (body["code"], body["conflict"]) == ("slot_conflict", "closure")
    assert "Christmas Day" in body["message"]
    slots = scheduler.get(
        f"/api/v1/availability/?clinic={clinic.pk}&protocol={protocol.pk}&date={day}"
    )
    assert slots.json()["results"] == []


@pytest.mark.django_db
def test_a_partial_closure_keeps_its_hours_open(
    api_as, clinic, chair, protocol, monday_9am
) -> None:
    day = monday_9am.astimezone(clinic.zone).date()
    ClinicClosure.objects.create(
        clinic=clinic, date=day, opens_at=time(12), closes_at=time(16), reason="Staff training"
    )
    scheduler = api_as("scheduler")
    patient = PatientFactory.create(clinic=clinic)
    morning = book_session(scheduler, patient, protocol, chair, monday_9am)
    assert morning.json()["conflict"] == "closure"
    noon = monday_9am.astimezone(clinic.zone).replace(hour=12)
    assert book_session(scheduler, patient, protocol, chair, noon).status_code == 201
    slots = scheduler.get(
        f"/api/v1/availability/?clinic={clinic.pk}&protocol={protocol.pk}&date={day}"
    ).json()["results"]
    local = [datetime.fromisoformat(s["starts_at"]).astimezone(clinic.zone) for s in slots]
    assert local and all(time(12) <= moment.time() < time(16) for moment in local)


def test_closures_in_the_pure_rules() -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    monday, tuesday = date(2030, 1, 7), date(2030, 1, 8)
    hours = ClinicHours(
        tz=zone, **NEW_YORK_HOURS, closures={monday: None, tuesday: (time(13), time(15))}
    )
    common: dict[str, Any] = {
        "hours": hours,
        "duration": timedelta(minutes=60),
        "chair_ids": [1],
        "bookings": [],
    }
    assert free_slots(day=monday, **common) == []
    assert [s.starts_at.astimezone(zone).time() for s in free_slots(day=tuesday, **common)] == [
        time(13),
        time(13, 15),
        time(13, 30),
        time(13, 45),
        time(14),
    ]
    series = suggest_series(
        first_day=monday, count=2, within_days=3, preferred_time=time(9), **common
    )
    assert [slot.starts_at.astimezone(zone).date() for slot in series] == [
        tuesday,
        date(2030, 1, 9),
    ]
