"""The session state machine (CLINICAL.md): check-in, complete, cancel, no-show, reschedule."""

from datetime import timedelta

import pytest
import time_machine

from clinic.models import Notification
from scheduling.models import InfusionSession, SessionStatus
from scheduling.services import sessions_mark_no_shows
from tests.factories import PatientFactory, SessionFactory


@pytest.fixture
def session(clinic, monday_9am):
    return SessionFactory.create(patient=PatientFactory.create(clinic=clinic), starts_at=monday_9am)


def post(client, session, action, body=None):
    return client.post(f"/api/v1/sessions/{session.pk}/{action}/", body or {}, format="json")


CHECK_IN = {"fasting_confirmed": True, "escort_confirmed": True, "weight_kg": "71.5"}


@pytest.mark.django_db
def test_check_in_opens_60_minutes_before_the_start(api_as, session) -> None:
    with time_machine.travel(session.starts_at - timedelta(minutes=61), tick=False):
        nurse = api_as("nurse")
        early = post(nurse, session, "check-in", CHECK_IN)
        assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    with time_machine.travel(session.starts_at - timedelta(minutes=60), tick=False):
        response = post(nurse, session, "check-in", CHECK_IN)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "checked_in"
    assert (body["fasting_confirmed"], body["escort_confirmed"], body["weight_kg"]) == (
        True,
        True,
        "71.5",
    )
    assert body["transitions"][-1]["action"] == "check_in"
    assert body["transitions"][-1]["actor"] == nurse.user.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [{}, {"fasting_confirmed": "maybe", "escort_confirmed": True}, {**CHECK_IN, "weight_kg": "10"}],
)
def test_check_in_validates_its_body(api_as, session, payload) -> None:
    with time_machine.travel(session.starts_at, tick=False):
        response = post(api_as("nurse"), session, "check-in", payload)
    assert response.status_code == 400
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


@pytest.mark.django_db
def test_illegal_transitions_are_409(api_as, session) -> None:
    with time_machine.travel(session.starts_at, tick=False):
        nurse, scheduler = api_as("nurse"), api_as("scheduler")
        assert post(nurse, session, "complete").json()["code"] == "invalid_transition"
        assert post(nurse, session, "check-in", CHECK_IN).status_code == 200
        again = post(nurse, session, "check-in", CHECK_IN)
        assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
        assert post(scheduler, session, "cancel", {"reason": "x"}).status_code == 409
        assert post(nurse, session, "no-show").status_code == 409


@pytest.mark.django_db
def test_complete_moves_an_infusion_into_recovery(api_as, session) -> None:
    session.status = SessionStatus.IN_PROGRESS  # start comes with the monitoring issue
    session.save()
    response = post(api_as("nurse"), session, "complete")
    assert response.status_code == 200
    assert response.json()["status"] == "recovery" and response.json()["completed_at"]


@pytest.mark.django_db
def test_cancel_needs_a_reason_and_cancels_the_reminders(api_as, booking) -> None:
    scheduler = api_as("scheduler")
    session_id = scheduler.post("/api/v1/sessions/", booking, format="json").json()["id"]
    session = InfusionSession.objects.get(pk=session_id)
    assert post(scheduler, session, "cancel").status_code == 400
    response = post(scheduler, session, "cancel", {"reason": "Patient has a cold"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["transitions"][-1]["reason"] == "Patient has a cold"
    statuses = set(Notification.objects.filter(session=session_id).values_list("status", flat=True))
    assert statuses == {"cancelled"}


@pytest.mark.django_db
def test_a_no_show_is_recorded_only_after_the_start(api_as, session) -> None:
    with time_machine.travel(session.starts_at - timedelta(minutes=1), tick=False):
        assert post(api_as("nurse"), session, "no-show").status_code == 409
    with time_machine.travel(session.starts_at + timedelta(minutes=5), tick=False):
        response = post(api_as("nurse"), session, "no-show")
    assert response.status_code == 200 and response.json()["status"] == "no_show"


@pytest.mark.django_db
def test_the_no_show_job_marks_sessions_not_checked_in_30_minutes_after_start(
    session, clinic, monday_9am
) -> None:
    checked_in = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic),
        starts_at=monday_9am,
        status=SessionStatus.CHECKED_IN,
    )
    with time_machine.travel(session.starts_at + timedelta(minutes=29), tick=False):
        assert sessions_mark_no_shows() == 0
    with time_machine.travel(session.starts_at + timedelta(minutes=30), tick=False):
        assert sessions_mark_no_shows() == 1
        assert sessions_mark_no_shows() == 0  # safe to run twice
    session.refresh_from_db()
    checked_in.refresh_from_db()
    assert session.status == SessionStatus.NO_SHOW
    assert checked_in.status == SessionStatus.CHECKED_IN
    transition = session.transitions.get(action="no_show")
    assert transition.actor is None  # the system did it


@pytest.mark.django_db
def test_reschedule_moves_the_session_and_its_reminders(
    api_as, booking, monday_9am, chairs
) -> None:
    scheduler = api_as("scheduler")
    session_id = scheduler.post("/api/v1/sessions/", booking, format="json").json()["id"]
    later = monday_9am + timedelta(days=1, hours=2)
    response = scheduler.post(
        f"/api/v1/sessions/{session_id}/reschedule/",
        {"starts_at": later.isoformat(), "chair": chairs[1].pk},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["chair"] == chairs[1].pk and body["status"] == "scheduled"
    assert body["transitions"][-1]["action"] == "reschedule"
    pending = Notification.objects.filter(session=session_id, status="pending").order_by(
        "scheduled_for"
    )
    assert [later - n.scheduled_for for n in pending] == [timedelta(hours=48), timedelta(hours=2)]
    assert all(f"session:{session_id}:rev1:" in n.dedup_key for n in pending)
    assert Notification.objects.filter(session=session_id, status="cancelled").count() == 2


@pytest.mark.django_db
def test_moving_a_session_away_and_back_keeps_its_reminders(
    api_as, booking, monday_9am, chairs
) -> None:
    scheduler = api_as("scheduler")
    session_id = scheduler.post("/api/v1/sessions/", booking, format="json").json()["id"]
    path = f"/api/v1/sessions/{session_id}/reschedule/"
    assert (
        scheduler.post(
            path, {"chair": chairs[1].pk, "starts_at": booking["starts_at"]}, format="json"
        ).status_code
        == 200
    )
    assert (
        scheduler.post(
            path, {"chair": chairs[0].pk, "starts_at": booking["starts_at"]}, format="json"
        ).status_code
        == 200
    )
    pending = Notification.objects.filter(session=session_id, status="pending")
    assert pending.count() == 2 and {n.dedup_key.split(":")[2] for n in pending} == {"rev2"}
    assert Notification.objects.filter(session=session_id, status="cancelled").count() == 4


@pytest.mark.django_db
def test_a_failed_reschedule_changes_nothing(api_as, booking, monday_9am, clinic) -> None:
    scheduler = api_as("scheduler")
    session_id = scheduler.post("/api/v1/sessions/", booking, format="json").json()["id"]
    blocker_time = monday_9am + timedelta(days=2)
    other = PatientFactory.create(clinic=clinic)
    assert (
        scheduler.post(
            "/api/v1/sessions/",
            {**booking, "patient": other.pk, "starts_at": blocker_time.isoformat()},
            format="json",
        ).status_code
        == 201
    )
    before = list(
        Notification.objects.filter(session=session_id).values_list("pk", "status", "scheduled_for")
    )
    response = scheduler.post(
        f"/api/v1/sessions/{session_id}/reschedule/",
        {"starts_at": blocker_time.isoformat()},
        format="json",
    )
    assert response.status_code == 409 and response.json()["conflict"] == "chair"
    session = InfusionSession.objects.get(pk=session_id)
    assert session.starts_at == monday_9am
    assert session.transitions.filter(action="reschedule").count() == 0
    after = list(
        Notification.objects.filter(session=session_id).values_list("pk", "status", "scheduled_for")
    )
    assert after == before
