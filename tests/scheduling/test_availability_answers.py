"""What GET /api/v1/availability/ answers beside the free starts (issue 13, points 8 and 12): each
slot's chair name, local start and the nurses who could take it; `patient=` for that patient's
bookings and spacing; and all of it in a number of queries that does not grow with the rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import Chair, Clinic, Patient, Protocol, Role
from tests.factories import (
    ChairFactory,
    ClinicFactory,
    PatientFactory,
    ProtocolFactory,
    SessionFactory,
    UserFactory,
)

NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")


def url_for(clinic: Clinic, protocol: Protocol, day: Any, **more: Any) -> str:
    query = "&".join(f"{name}={value}" for name, value in more.items())
    url = f"/api/v1/availability/?clinic={clinic.pk}&protocol={protocol.pk}&date={day}"
    return f"{url}&{query}" if query else url


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.django_db
def test_each_slot_names_its_chair_and_its_local_start(
    api_as, clinic, protocol, chairs: list[Chair], monday_9am: datetime
) -> None:
    day = monday_9am.date()
    slots = api_as("scheduler").get(url_for(clinic, protocol, day)).json()["results"]

    names = {chair.pk: chair.name for chair in chairs}
    assert {slot["chair"] for slot in slots} == set(names)
    for slot in slots:
        assert slot["chair_name"] == names[slot["chair"]]
        local = datetime.fromisoformat(slot["local_start"])
        # The same instant as starts_at, written on the clinic's clock with its offset.
        assert local == datetime.fromisoformat(slot["starts_at"])
        assert local.utcoffset() == local.astimezone(NEW_YORK).utcoffset()
    first = min(slots, key=lambda slot: slot["starts_at"])
    assert first["local_start"] == monday_9am.replace(hour=8).isoformat()  # opening, 08:00


@pytest.mark.django_db
def test_a_slot_lists_the_nurses_who_could_take_it_and_booking_with_one_is_not_refused(
    api_as, clinic, protocol, chairs: list[Chair], monday_9am: datetime
) -> None:
    clinic.nurse_concurrent_patient_limit = 1
    clinic.save()
    busy = UserFactory.create(role=Role.NURSE, clinics=[clinic])
    free = UserFactory.create(role=Role.NURSE, clinics=[clinic])
    UserFactory.create(role=Role.NURSE, clinics=[clinic], is_active=False)
    UserFactory.create(role=Role.NURSE, clinics=[ClinicFactory.create()])  # another clinic's
    UserFactory.create(role=Role.CLINICIAN, clinics=[clinic])
    # The busy nurse has a patient 09:00-10:25 on the first chair.
    SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic),
        chair=chairs[0],
        protocol=protocol,
        nurse=busy,
        starts_at=monday_9am,
    )
    scheduler = api_as("scheduler")
    slots = scheduler.get(url_for(clinic, protocol, monday_9am.date())).json()["results"]
    nurses_at = {(slot["starts_at"], slot["chair"]): slot["nurses"] for slot in slots}

    overlapping = utc_text(monday_9am + timedelta(minutes=30))  # 09:30, during her patient
    later = utc_text(monday_9am + timedelta(hours=2))  # 11:00, after it
    assert nurses_at[(overlapping, chairs[1].pk)] == [free.pk]
    assert nurses_at[(later, chairs[1].pk)] == sorted([busy.pk, free.pk])

    def book(nurse_id: int) -> Any:
        return scheduler.post(
            "/api/v1/sessions/",
            {
                "patient": PatientFactory.create(clinic=clinic).pk,
                "protocol": protocol.pk,
                "chair": chairs[1].pk,
                "starts_at": overlapping,
                "nurse": nurse_id,
            },
            format="json",
        )

    # The nurse the slot did not list is refused for the limit; the one it listed is not.
    refused = book(busy.pk)
    assert refused.status_code == 409, refused.content
    assert refused.json()["conflict"] == "nurse"
    assert book(free.pk).status_code == 201


@pytest.mark.django_db
def test_with_a_patient_only_starts_that_keep_their_spacing(
    api_as, clinic, protocol, chairs: list[Chair], patient: Patient, monday_9am: datetime
) -> None:
    SessionFactory.create(patient=patient, chair=chairs[0], protocol=protocol, starts_at=monday_9am)
    scheduler = api_as("scheduler")
    monday, tuesday = monday_9am.date(), monday_9am.date() + timedelta(days=1)

    # Without the patient, Monday still has free chairs; with them, nothing within 24 hours of
    # their booked start (the clinic's default spacing) is offered.
    assert scheduler.get(url_for(clinic, protocol, monday)).json()["results"]
    assert scheduler.get(url_for(clinic, protocol, monday, patient=patient.pk)).json() == {
        "results": []
    }
    tuesday_starts = [
        datetime.fromisoformat(slot["starts_at"])
        for slot in scheduler.get(url_for(clinic, protocol, tuesday, patient=patient.pk)).json()[
            "results"
        ]
    ]
    assert tuesday_starts
    assert min(tuesday_starts) == monday_9am + timedelta(hours=24)
    # Another patient's day is not narrowed by this patient's booking.
    someone_else = PatientFactory.create(clinic=clinic)
    assert scheduler.get(url_for(clinic, protocol, monday, patient=someone_else.pk)).json()[
        "results"
    ]


@pytest.mark.django_db
def test_the_patient_must_be_the_callers_and_the_clinics(
    api_as, make_user, clinic, protocol, monday_9am: datetime
) -> None:
    day = monday_9am.date()
    elsewhere = PatientFactory.create(clinic=ClinicFactory.create(name="Not yours"))
    scheduler = api_as("scheduler")

    outside = scheduler.get(url_for(clinic, protocol, day, patient=elsewhere.pk))
    assert outside.status_code == 404
    assert outside.json() == {"code": "not_found", "message": "Not found."}

    # An admin of two clinics asking for one clinic's slots with the other clinic's patient.
    second = ClinicFactory.create(name="Second")
    admin = api_as("admin", clinics=[clinic, second])
    theirs = PatientFactory.create(clinic=second)
    mismatch = admin.get(url_for(clinic, protocol, day, patient=theirs.pk))
    assert mismatch.status_code == 400
    assert mismatch.json()["fields"] == {"patient": ["This patient belongs to another clinic."]}

    for bad in ("abc", "0", "-3"):
        wrong = scheduler.get(url_for(clinic, protocol, day, patient=bad))
        assert wrong.status_code == 400
        assert "patient" in wrong.json()["fields"]


def queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.django_db
def test_availability_with_nurses_names_and_a_patient_costs_the_same_for_few_or_many_rows(
    api_as, clinic, monday_9am: datetime
) -> None:
    protocol = ProtocolFactory.create(clinic=clinic)
    patient = PatientFactory.create(clinic=clinic)
    scheduler = api_as("scheduler")
    day = (monday_9am + timedelta(days=2)).date()  # Wednesday
    plain = url_for(clinic, protocol, day)
    with_patient = url_for(clinic, protocol, day, patient=patient.pk)
    chairs = [ChairFactory.create(clinic=clinic) for _ in range(2)]
    nurses = [UserFactory.create(role=Role.NURSE, clinics=[clinic])]
    queries(scheduler, plain)  # the token's first use writes its last_used_at
    few = (queries(scheduler, plain), queries(scheduler, with_patient))

    chairs += [ChairFactory.create(clinic=clinic) for _ in range(18)]
    nurses += [UserFactory.create(role=Role.NURSE, clinics=[clinic]) for _ in range(9)]
    wednesday_9am = monday_9am + timedelta(days=2)
    for index, chair in enumerate(chairs):
        for slot in range(3):
            SessionFactory.create(
                patient=PatientFactory.create(clinic=clinic),
                chair=chair,
                protocol=protocol,
                nurse=nurses[index % len(nurses)],
                starts_at=wednesday_9am + timedelta(minutes=90 * slot + index),
            )
    SessionFactory.create(
        patient=patient,
        chair=chairs[0],
        protocol=protocol,
        starts_at=wednesday_9am + timedelta(days=2),  # Friday: outside the spacing window
    )

    assert (queries(scheduler, plain), queries(scheduler, with_patient)) == few
    # The caller's token with its user (1); the clinic, the protocol, the clinic's active
    # chairs, its closures, the day's live sessions (5: what availability cost before it knew
    # nurses); the clinic's nurses and their live sessions (nurses_for_slots, 2); the chairs'
    # names (1). A patient adds the patient and their bookings near the day (2).
    assert few == (1 + 5 + 2 + 1, 1 + 5 + 2 + 1 + 2)
