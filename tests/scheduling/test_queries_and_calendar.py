"""Query counts that do not grow with rows, availability edges, and the calendar feed."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ChairFactory, PatientFactory, SessionFactory

NEW_YORK = ZoneInfo("America/New_York")


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.django_db
def test_the_session_list_costs_the_same_for_3_or_30_sessions(api_as, clinic, monday_9am) -> None:
    nurse = api_as("nurse")
    day = monday_9am.astimezone(NEW_YORK).date()
    url = f"/api/v1/sessions/?date={day}"
    queries(nurse, url)

    def add(n: int) -> None:
        for _ in range(n):
            chair = ChairFactory.create(clinic=clinic)
            SessionFactory.create(
                patient=PatientFactory.create(clinic=clinic), chair=chair, starts_at=monday_9am
            )

    add(3)
    few = queries(nurse, url)
    add(27)
    assert queries(nurse, url) == few


@pytest.mark.django_db
def test_availability_costs_the_same_for_2_or_20_chairs_and_many_bookings(
    api_as, clinic, protocol, monday_9am
) -> None:
    scheduler = api_as("scheduler")
    day = monday_9am.astimezone(NEW_YORK).date()
    url = f"/api/v1/availability/?clinic={clinic.pk}&protocol={protocol.pk}&date={day}"
    chairs = [ChairFactory.create(clinic=clinic) for _ in range(2)]
    queries(scheduler, url)
    few = queries(scheduler, url)
    chairs += [ChairFactory.create(clinic=clinic) for _ in range(18)]
    for index, chair in enumerate(chairs):
        for slot in range(3):
            SessionFactory.create(
                patient=PatientFactory.create(clinic=clinic),
                chair=chair,
                starts_at=monday_9am + timedelta(minutes=90 * slot + index),
            )
    assert queries(scheduler, url) == few


@pytest.mark.django_db
def test_availability_edges(api_as, clinic, protocol, chair, monday_9am) -> None:
    scheduler = api_as("scheduler")
    day = monday_9am.astimezone(NEW_YORK).date()
    url = f"/api/v1/availability/?clinic={clinic.pk}&protocol={protocol.pk}&date={day}"
    slots = scheduler.get(url).json()["results"]
    starts = [slot["starts_at"] for slot in slots]
    local = starts
    opening = monday_9am.replace(hour=8, minute=0)
    assert local[0] == opening.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    last = monday_9am.replace(hour=16, minute=30)  # the last grid start that ends by 18:00
    assert local[-1] == last.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic), chair=chair, starts_at=monday_9am
    )
    after = {
        slot["starts_at"]
        for slot in scheduler.get(url).json()["results"]
        if slot["chair"] == chair.pk
    }
    booked_end = monday_9am + timedelta(minutes=85)  # 10:25; next grid start 10:30 is free
    for minutes in range(-75, 85, 15):  # every start whose booking would overlap 09:00-10:25
        clash = (monday_9am + timedelta(minutes=minutes)).astimezone(ZoneInfo("UTC"))
        assert clash.strftime("%Y-%m-%dT%H:%M:%SZ") not in after
    free = (booked_end + timedelta(minutes=5)).astimezone(ZoneInfo("UTC"))
    assert free.strftime("%Y-%m-%dT%H:%M:%SZ") in after
    assert scheduler.get(f"/api/v1/availability/?clinic={clinic.pk}").status_code == 400


@pytest.mark.django_db
def test_the_patients_calendar_feed(api_as, clinic, monday_9am) -> None:
    patient = PatientFactory.create(clinic=clinic)
    session = SessionFactory.create(patient=patient, starts_at=monday_9am)
    SessionFactory.create(patient=PatientFactory.create(clinic=clinic), starts_at=monday_9am)
    response = api_as("nurse").get(f"/api/v1/patients/{patient.pk}/sessions.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert [str(e["UID"]) for e in events] == [f"session-{session.pk}@infusion-clinic"]
    assert events[0].decoded("DTSTART") == monday_9am
    assert (
        api_as("nurse", clinics=[]).get(f"/api/v1/patients/{patient.pk}/sessions.ics").status_code
        == 404
    )
