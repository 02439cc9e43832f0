"""Issue 13 point 4: a critical page never vanishes in silence. An alert records whom it paged;
a level that reaches nobody goes up the chain at once and marks the alert unreachable; a clinic
whose clinicians cannot be reached is named in /readyz; the demo staff can be reached."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from clinic.models import Notification, Role, User
from monitoring.models import Alert
from monitoring.selectors.paging import clinics_without_reachable_clinician
from monitoring.services import vital_readings_flag
from tests.conftest import client_for
from tests.factories import checked_in_session

from .conftest import reading


def flag_critical(nurse, session) -> Alert:
    payload = reading(spo2=88)
    response = client_for(nurse).post(
        f"/api/v1/sessions/{session.pk}/vitals/", payload, format="json"
    )
    assert response.status_code == 201
    vital_readings_flag(reading_ids=[payload["id"]])
    return Alert.objects.get(reading_id=payload["id"], parameter="spo2")


@pytest.mark.django_db
def test_the_alert_records_whom_it_paged(nurse_user, clinician_user, checked_in) -> None:
    alert = flag_critical(nurse_user, checked_in)
    assert set(alert.paged) == {nurse_user.pk, clinician_user.pk}
    assert alert.unreachable is False


@pytest.mark.django_db
def test_nobody_reachable_goes_up_the_chain_at_once(make_user, clinic) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic], email="", phone="")
    make_user(role=Role.CLINICIAN, clinics=[clinic], email="", phone="")
    admin = make_user(role=Role.ADMIN, clinics=[clinic], email="", phone="+15550007777")
    alert = flag_critical(nurse, checked_in_session(clinic=clinic, nurse=nurse))
    assert alert.unreachable is True
    assert alert.paged == [admin.pk]
    assert Notification.objects.filter(
        kind="alert", recipient_user=admin, dedup_key=f"alert:{alert.pk}:level1:user{admin.pk}"
    ).exists()


@pytest.mark.django_db
def test_nobody_at_any_level_is_marked_and_logged(make_user, clinic, caplog) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic], email="", phone="")
    alert = flag_critical(nurse, checked_in_session(clinic=clinic, nurse=nurse))
    assert (alert.unreachable, alert.paged) == (True, [])
    assert not Notification.objects.filter(kind="alert").exists()
    assert any("no reachable staff" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_readyz_names_a_clinic_no_clinician_can_be_reached_in(make_user, clinic) -> None:
    clinician = make_user(role=Role.CLINICIAN, clinics=[clinic], email="", phone="")
    assert clinics_without_reachable_clinician() == [clinic]
    body = APIClient().get("/readyz").json()
    assert f"no reachable clinician for clinic {clinic.name}" in body["warnings"]
    clinician.email = "doctor@example.com"
    clinician.save()
    assert clinics_without_reachable_clinician() == []
    assert "warnings" not in APIClient().get("/readyz").json()


@pytest.mark.django_db
def test_the_demo_staff_can_be_paged() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    staff = User.objects.filter(username__in=["admin", "scheduler", "nurse", "clinician"])
    assert staff.count() == 4
    assert all(user.email or user.phone for user in staff)
    assert clinics_without_reachable_clinician() == []


@pytest.mark.django_db
def test_the_staff_list_shows_who_cannot_be_paged(api_as, make_user, clinic) -> None:
    silent = make_user(role=Role.CLINICIAN, clinics=[clinic], email="", phone="")
    paged = make_user(role=Role.CLINICIAN, clinics=[clinic], email="", phone="+15550004444")
    rows = {row["id"]: row for row in api_as("admin").get("/api/v1/staff/").json()["results"]}
    assert rows[silent.pk]["reachable"] is False and rows[paged.pk]["reachable"] is True
