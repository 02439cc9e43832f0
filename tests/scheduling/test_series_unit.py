"""Issue 13, point 7: a series as a unit. GET /series/{id}/ shows it with its sessions;
POST /series/{id}/cancel/ cancels every session of it not yet begun in one transaction, each
through the status owner (its reminders cancelled, the reason kept), and reports the rest."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import AuditEvent, Notification, NotificationStatus, Role
from scheduling import services
from scheduling.models import InfusionSeries, InfusionSession, SessionStatus, SessionTransition
from scheduling.services import status as status_module
from tests.conftest import client_for
from tests.factories import PatientFactory, SessionFactory, UserFactory
from tests.scheduling.test_series import series_payload, weekdays_from

NOT_FOUND = {"code": "not_found", "message": "Not found."}


def book_series(client, patient, protocol, chair, first, count: int = 4) -> InfusionSeries:
    response = client.post(
        "/api/v1/series/",
        series_payload(patient, protocol, weekdays_from(first, count), chair),
        format="json",
    )
    assert response.status_code == 201, response.json()
    return InfusionSeries.objects.get(pk=response.json()["id"])


def sessions_of(series: InfusionSeries) -> list[InfusionSession]:
    return list(series.sessions.order_by("starts_at"))


def set_status(session: InfusionSession, status: str) -> None:
    """Straight into the row: these tests are about the series, not the move that got it there."""
    InfusionSession.objects.filter(pk=session.pk).update(status=status)


def reminders(session: InfusionSession) -> list[str]:
    return list(
        Notification.objects.filter(session=session.pk, kind="appointment_reminder").values_list(
            "status", flat=True
        )
    )


@pytest.fixture
def series(api_as, patient, protocol, chair, monday_9am) -> InfusionSeries:
    return book_series(api_as("scheduler"), patient, protocol, chair, monday_9am)


# --- The record ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "scheduler", "nurse", "clinician", "superuser"])
def test_staff_see_the_series_with_its_sessions_in_start_order(api_as, series, role) -> None:
    response = api_as(role).get(f"/api/v1/series/{series.pk}/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["patient"], body["protocol"]) == (
        series.pk,
        series.patient_id,
        series.protocol_id,
    )
    assert [row["id"] for row in body["sessions"]] == [s.pk for s in sessions_of(series)]
    first = body["sessions"][0]
    assert first["patient_name"] == f"{series.patient.first_name} {series.patient.last_name}"
    assert first["transitions"][0]["action"] == "book"


@pytest.mark.django_db
def test_reading_a_series_is_audited_for_it_and_each_session(api_as, series) -> None:
    nurse = api_as("nurse")
    nurse.get(f"/api/v1/series/{series.pk}/")
    reads = set(
        AuditEvent.objects.filter(actor=nurse.user, action="read").values_list(
            "object_type", "object_id", "patient"
        )
    )
    assert ("series", str(series.pk), series.patient_id) in reads
    for session in sessions_of(series):
        assert ("session", str(session.pk), series.patient_id) in reads


@pytest.mark.django_db
def test_the_record_costs_the_same_for_2_or_8_sessions(
    api_as, clinic, protocol, chair, monday_9am
) -> None:
    scheduler = api_as("scheduler")
    short_patient, long_patient = PatientFactory.create_batch(2, clinic=clinic)
    short = book_series(scheduler, short_patient, protocol, chair, monday_9am, count=2)
    later = monday_9am + timedelta(hours=2)
    long = book_series(scheduler, long_patient, protocol, chair, later, count=8)

    def queries(series: InfusionSeries) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert scheduler.get(f"/api/v1/series/{series.pk}/").status_code == 200
        return len(captured)

    queries(short)  # warm up: the token's last-use refresh happens once
    assert queries(short) == queries(long)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "scheduler", "nurse", "clinician"])
def test_another_clinics_series_is_not_found(api_as, other_clinic, role) -> None:
    session = SessionFactory.create(patient=PatientFactory.create(clinic=other_clinic))
    theirs = InfusionSeries.objects.create(
        patient=session.patient, protocol=session.protocol, created_by=session.booked_by
    )
    caller = api_as(role)
    assert caller.get(f"/api/v1/series/{theirs.pk}/").json() == NOT_FOUND
    cancel = caller.post(f"/api/v1/series/{theirs.pk}/cancel/", {"reason": "x"}, format="json")
    assert cancel.json() == NOT_FOUND


@pytest.mark.django_db
def test_a_patient_may_not_read_their_series_nor_find_anothers(series, clinic) -> None:
    user = UserFactory.create(role=Role.PATIENT)
    series.patient.user = user
    series.patient.save(update_fields=["user"])
    patient_client = client_for(user)
    assert patient_client.get(f"/api/v1/series/{series.pk}/").status_code == 403
    other_user = UserFactory.create(role=Role.PATIENT)
    PatientFactory.create(clinic=clinic, user=other_user)
    assert client_for(other_user).get(f"/api/v1/series/{series.pk}/").json() == NOT_FOUND


# --- Cancelling what is left --------------------------------------------------------------------


@pytest.mark.django_db
def test_cancel_takes_every_scheduled_session_and_reports_the_begun_ones(api_as, series) -> None:
    first, second, third, fourth = sessions_of(series)
    set_status(first, SessionStatus.CHECKED_IN)
    scheduler = api_as("scheduler")
    already = scheduler.post(
        f"/api/v1/sessions/{second.pk}/cancel/", {"reason": "Flu"}, format="json"
    )
    assert already.status_code == 200
    assert all(status == "pending" for status in reminders(third) + reminders(fourth))
    assert reminders(third), "booking wrote the reminders"

    response = scheduler.post(
        f"/api/v1/series/{series.pk}/cancel/", {"reason": "Moving abroad"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["cancelled"] == [third.pk, fourth.pk]
    assert body["already_begun"] == [first.pk]
    assert body["series"]["id"] == series.pk
    assert [(row["id"], row["status"]) for row in body["series"]["sessions"]] == [
        (first.pk, "checked_in"),
        (second.pk, "cancelled"),
        (third.pk, "cancelled"),
        (fourth.pk, "cancelled"),
    ]
    for session in (third, fourth):
        transition = SessionTransition.objects.get(session=session, action="cancel")
        assert (transition.reason, transition.actor, transition.details) == (
            "Moving abroad",
            scheduler.user,
            {"series": series.pk},
        )
        assert reminders(session) and set(reminders(session)) == {NotificationStatus.CANCELLED}
        assert body["series"]["sessions"][-1]["transitions"][-1]["reason"] == "Moving abroad"
    # The session cancelled earlier keeps its own reason; the checked-in one is untouched.
    assert SessionTransition.objects.get(session=second, action="cancel").reason == "Flu"
    assert not SessionTransition.objects.filter(session=first, action="cancel").exists()
    assert InfusionSession.objects.get(pk=first.pk).status == SessionStatus.CHECKED_IN
    assert AuditEvent.objects.filter(
        actor=scheduler.user, action="series_cancel", object_id=str(series.pk)
    ).exists()
    assert AuditEvent.objects.filter(
        action="session_cancel", object_id=str(third.pk), patient=series.patient
    ).exists()


@pytest.mark.django_db
def test_a_second_cancel_cancels_nothing_more(api_as, series) -> None:
    clinician = api_as("clinician")
    url = f"/api/v1/series/{series.pk}/cancel/"
    assert len(clinician.post(url, {"reason": "Stop"}, format="json").json()["cancelled"]) == 4
    again = clinician.post(url, {"reason": "Stop again"}, format="json")
    assert again.status_code == 200
    assert (again.json()["cancelled"], again.json()["already_begun"]) == ([], [])
    assert SessionTransition.objects.filter(session__series=series, action="cancel").count() == 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status",
    [
        SessionStatus.IN_PROGRESS,
        SessionStatus.RECOVERY,
        SessionStatus.DISCHARGED,
        SessionStatus.STOPPED,
    ],
)
def test_sessions_under_way_or_over_are_left_and_reported(api_as, series, status) -> None:
    first, *rest = sessions_of(series)
    set_status(first, status)
    body = (
        api_as("admin")
        .post(f"/api/v1/series/{series.pk}/cancel/", {"reason": "x"}, format="json")
        .json()
    )
    assert (body["cancelled"], body["already_begun"]) == ([s.pk for s in rest], [first.pk])
    assert InfusionSession.objects.get(pk=first.pk).status == status


@pytest.mark.django_db
def test_a_no_show_is_passed_over(api_as, series) -> None:
    first, *rest = sessions_of(series)
    set_status(first, SessionStatus.NO_SHOW)
    body = (
        api_as("admin")
        .post(f"/api/v1/series/{series.pk}/cancel/", {"reason": "x"}, format="json")
        .json()
    )
    assert (body["cancelled"], body["already_begun"]) == ([s.pk for s in rest], [])


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}])
def test_a_cancel_needs_a_reason(api_as, series, body) -> None:
    response = api_as("scheduler").post(f"/api/v1/series/{series.pk}/cancel/", body, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["fields"]
    assert all(s.status == SessionStatus.SCHEDULED for s in sessions_of(series))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["nurse", "patient"])
def test_roles_that_may_not_cancel_a_session_may_not_cancel_a_series(api_as, series, role) -> None:
    if role == "patient":
        user = UserFactory.create(role=Role.PATIENT)
        series.patient.user = user
        series.patient.save(update_fields=["user"])
        caller = client_for(user)
    else:
        caller = api_as(role)
    response = caller.post(f"/api/v1/series/{series.pk}/cancel/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert all(s.status == SessionStatus.SCHEDULED for s in sessions_of(series))
    assert all(status == "pending" for s in sessions_of(series) for status in reminders(s))


@pytest.mark.django_db
def test_one_failure_cancels_nothing(series, monkeypatch) -> None:
    """All or none: a failure on the third session undoes the first two."""
    real = status_module.notifications_cancel
    calls = []

    def fail_on_the_third(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise RuntimeError("outbox unavailable")
        return real(**kwargs)

    monkeypatch.setattr(status_module, "notifications_cancel", fail_on_the_third)
    with pytest.raises(RuntimeError, match="outbox unavailable"):
        services.series_cancel(actor=series.created_by, series=series, reason="x")
    assert all(s.status == SessionStatus.SCHEDULED for s in sessions_of(series))
    assert all(status == "pending" for s in sessions_of(series) for status in reminders(s))
    assert not SessionTransition.objects.filter(session__series=series, action="cancel").exists()
