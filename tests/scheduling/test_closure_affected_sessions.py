"""Issue 13, point 6: the booked sessions a new closure hits are listed for rescheduling
(GET /clinics/{id}/closures/{closure_id}/affected-sessions/), never moved."""

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import AuditEvent, ClinicClosure, Role
from scheduling.models import InfusionSession, SessionStatus
from tests.conftest import client_for
from tests.factories import ChairFactory, PatientFactory, SessionFactory, UserFactory


def affected_url(closure: ClinicClosure) -> str:
    return f"/api/v1/clinics/{closure.clinic_id}/closures/{closure.pk}/affected-sessions/"


def session_at(clinic, protocol, starts_at, status=SessionStatus.SCHEDULED) -> InfusionSession:
    """A session of a new patient on a new chair (85 booked minutes with the default protocol)."""
    return SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic),
        chair=ChairFactory.create(clinic=clinic),
        protocol=protocol,
        starts_at=starts_at,
        status=status,
    )


def listed(client, closure: ClinicClosure) -> list[int]:
    response = client.get(affected_url(closure))
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_a_whole_day_closure_lists_every_session_still_to_come_that_day(
    api_as, clinic, other_clinic, protocol, monday_9am
) -> None:
    closure = ClinicClosure.objects.create(
        clinic=clinic, date=monday_9am.date(), reason="Christmas Day"
    )
    hit = [
        session_at(clinic, protocol, monday_9am),
        session_at(clinic, protocol, monday_9am + timedelta(hours=7), SessionStatus.CHECKED_IN),
    ]
    for status in (
        SessionStatus.CANCELLED,
        SessionStatus.NO_SHOW,
        SessionStatus.IN_PROGRESS,
        SessionStatus.RECOVERY,
        SessionStatus.DISCHARGED,
        SessionStatus.STOPPED,
    ):
        session_at(clinic, protocol, monday_9am + timedelta(hours=1), status)
    session_at(clinic, protocol, monday_9am + timedelta(days=1))  # the next day
    session_at(clinic, protocol, monday_9am - timedelta(days=3))  # the Friday before
    session_at(other_clinic, protocol, monday_9am)  # another clinic's
    scheduler = api_as("scheduler")
    assert listed(scheduler, closure) == [session.pk for session in hit]


@pytest.mark.django_db
def test_a_partial_closure_lists_the_sessions_not_held_within_its_hours(
    api_as, clinic, protocol, monday_9am
) -> None:
    closure = ClinicClosure.objects.create(
        clinic=clinic,
        date=monday_9am.date(),
        opens_at=time(12),
        closes_at=time(16),
        reason="Staff training in the morning, a short afternoon",
    )
    starts = {
        "before": monday_9am,  # 09:00-10:25
        "into the opening": monday_9am.replace(hour=11, minute=30),  # 11:30-12:55
        "inside": monday_9am.replace(hour=12),  # 12:00-13:25
        "to the closing": monday_9am.replace(hour=14, minute=35),  # 14:35-16:00
        "past the closing": monday_9am.replace(hour=15),  # 15:00-16:25
    }
    sessions = {name: session_at(clinic, protocol, start) for name, start in starts.items()}
    expected = [sessions[name].pk for name in ("before", "into the opening", "past the closing")]
    assert listed(api_as("admin"), closure) == expected


@pytest.mark.django_db
def test_closing_a_booked_day_moves_nothing_and_lists_it_with_names(
    api_as, clinic, protocol, monday_9am
) -> None:
    session = session_at(clinic, protocol, monday_9am)
    admin = api_as("admin")
    created = admin.post(
        f"/api/v1/clinics/{clinic.pk}/closures/",
        {"date": monday_9am.date().isoformat(), "reason": "Flooded"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    closure = ClinicClosure.objects.get(pk=created.json()["id"])
    body = admin.get(affected_url(closure)).json()
    [row] = body["results"]
    assert row["id"] == session.pk
    assert row["patient_name"] == f"{session.patient.first_name} {session.patient.last_name}"
    assert (row["chair_name"], row["protocol_name"]) == (session.chair.name, protocol.name)
    assert row["status"] == "scheduled"
    moved = InfusionSession.objects.get(pk=session.pk)
    assert (moved.starts_at, moved.status, moved.chair_id) == (
        session.starts_at,
        SessionStatus.SCHEDULED,
        session.chair_id,
    )


@pytest.mark.django_db
def test_the_list_is_in_start_order_one_page_at_a_time(api_as, clinic, protocol, monday_9am):
    closure = ClinicClosure.objects.create(clinic=clinic, date=monday_9am.date(), reason="x")
    sessions = [
        session_at(clinic, protocol, monday_9am + timedelta(minutes=30 * n)) for n in (3, 0, 2, 1)
    ]
    nurse = api_as("nurse")
    first = nurse.get(affected_url(closure), {"page_size": 2}).json()
    second = nurse.get(first["next"]).json()
    shown = [row["id"] for row in first["results"] + second["results"]]
    assert shown == [s.pk for s in sorted(sessions, key=lambda s: s.starts_at)]


@pytest.mark.django_db
def test_each_session_shown_is_an_audited_read(api_as, clinic, protocol, monday_9am) -> None:
    closure = ClinicClosure.objects.create(clinic=clinic, date=monday_9am.date(), reason="x")
    session = session_at(clinic, protocol, monday_9am)
    nurse = api_as("nurse")
    listed(nurse, closure)
    assert AuditEvent.objects.filter(
        actor=nurse.user,
        action="read",
        object_type="session",
        object_id=str(session.pk),
        patient=session.patient,
    ).exists()


@pytest.mark.django_db
def test_the_list_costs_the_same_for_2_or_12_sessions(api_as, clinic, protocol, monday_9am):
    closure = ClinicClosure.objects.create(clinic=clinic, date=monday_9am.date(), reason="x")
    nurse_user = UserFactory.create(role=Role.NURSE, clinics=[clinic])
    scheduler = api_as("scheduler")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert scheduler.get(affected_url(closure)).status_code == 200
        return len(captured)

    def add(count: int) -> None:
        for n in range(count):
            session = session_at(clinic, protocol, monday_9am + timedelta(minutes=5 * n))
            session.nurse = nurse_user
            session.save(update_fields=["nurse"])

    add(2)
    queries()  # warm up: the token's last-use refresh happens once
    few = queries()
    add(10)
    assert queries() == few


# --- Who, and whose -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "scheduler", "nurse", "clinician", "superuser"])
def test_every_member_of_staff_may_see_them(api_as, clinic, protocol, monday_9am, role) -> None:
    closure = ClinicClosure.objects.create(clinic=clinic, date=monday_9am.date(), reason="x")
    session = session_at(clinic, protocol, monday_9am)
    assert listed(api_as(role), closure) == [session.pk]


@pytest.mark.django_db
def test_a_patient_is_not_shown_them(clinic, protocol, monday_9am) -> None:
    user = UserFactory.create(role=Role.PATIENT)
    session = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic, user=user), starts_at=monday_9am
    )
    closure = ClinicClosure.objects.create(clinic=clinic, date=monday_9am.date(), reason="x")
    # Their own session is on that day; the clinic and its closures are still not theirs.
    assert client_for(user).get(affected_url(closure)).status_code == 404
    assert session.status == SessionStatus.SCHEDULED


@pytest.mark.django_db
def test_another_clinics_closure_is_not_found(api_as, clinic, other_clinic, monday_9am) -> None:
    theirs = ClinicClosure.objects.create(clinic=other_clinic, date=monday_9am.date(), reason="x")
    admin = api_as("admin")
    not_found = {"code": "not_found", "message": "Not found."}
    assert admin.get(affected_url(theirs)).json() == not_found
    # Their closure's id under our clinic's URL is no more ours.
    mixed = f"/api/v1/clinics/{clinic.pk}/closures/{theirs.pk}/affected-sessions/"
    assert admin.get(mixed).json() == not_found


@pytest.mark.django_db
def test_a_closure_is_found_only_under_its_own_clinic(api_as, clinic, other_clinic, monday_9am):
    ours = ClinicClosure.objects.create(clinic=clinic, date=monday_9am.date(), reason="x")
    both = api_as("admin", clinics=[clinic, other_clinic])
    wrong = f"/api/v1/clinics/{other_clinic.pk}/closures/{ours.pk}/affected-sessions/"
    assert both.get(wrong).status_code == 404
    assert both.get(affected_url(ours)).status_code == 200
