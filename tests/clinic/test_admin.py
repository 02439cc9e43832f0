"""The Django admin is usable by a clinic admin, and shows them only their clinics."""

import pytest
from django.test import Client

from clinic.models import AuditEvent, Role
from tests.factories import TEST_PASSWORD, ChairFactory, PatientFactory


@pytest.fixture
def clinic_admin_browser(make_user, clinic) -> Client:
    admin = make_user(role=Role.ADMIN, clinics=[clinic], is_staff=True)
    browser = Client()
    response = browser.post(
        "/admin/login/?next=/admin/", {"username": admin.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    return browser


@pytest.mark.django_db
def test_a_clinic_admin_sees_the_clinic_models(clinic_admin_browser) -> None:
    index = clinic_admin_browser.get("/admin/").content.decode()
    for model in ("clinic/", "chair/", "patient/", "protocol/", "user/", "auditevent/"):
        assert f"/admin/clinic/{model}" in index


@pytest.mark.django_db
def test_a_clinic_admin_sees_only_their_clinics_rows(
    clinic_admin_browser, clinic, other_clinic
) -> None:
    mine = PatientFactory.create(clinic=clinic, last_name="Mine")
    PatientFactory.create(clinic=other_clinic, last_name="Theirs")
    page = clinic_admin_browser.get("/admin/clinic/patient/")
    assert page.status_code == 200
    assert b"Mine" in page.content and b"Theirs" not in page.content
    theirs_chair = ChairFactory.create(clinic=other_clinic)
    assert (
        clinic_admin_browser.get(f"/admin/clinic/chair/{theirs_chair.pk}/change/").status_code
        == 302
    )
    assert clinic_admin_browser.get(f"/admin/clinic/patient/{mine.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_a_clinic_admin_adds_a_chair_in_the_admin(
    clinic_admin_browser, clinic, other_clinic
) -> None:
    form = clinic_admin_browser.get("/admin/clinic/chair/add/").content.decode()
    assert f'value="{clinic.pk}"' in form and f'value="{other_clinic.pk}"' not in form
    response = clinic_admin_browser.post(
        "/admin/clinic/chair/add/", {"clinic": clinic.pk, "name": "Window seat", "is_active": "on"}
    )
    assert response.status_code == 302
    assert clinic.chairs.filter(name="Window seat").exists()


@pytest.mark.django_db
def test_patients_and_audit_events_cannot_be_deleted_in_the_admin(
    clinic_admin_browser, clinic
) -> None:
    patient = PatientFactory.create(clinic=clinic)
    assert (
        clinic_admin_browser.get(f"/admin/clinic/patient/{patient.pk}/delete/").status_code == 403
    )
    event = AuditEvent.objects.filter(object_type="user").first()  # the admin's own login
    assert event is not None
    assert (
        clinic_admin_browser.get(f"/admin/clinic/auditevent/{event.pk}/delete/").status_code == 403
    )


@pytest.mark.django_db
def test_a_nurse_cannot_use_the_admin(make_user, clinic) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    browser = Client()
    browser.post("/admin/login/", {"username": nurse.username, "password": TEST_PASSWORD})
    assert browser.get("/admin/clinic/patient/").status_code == 302  # back to the login page


@pytest.mark.django_db
def test_failed_admin_logins_count_towards_the_lockout(make_user, clinic, settings) -> None:
    settings.LOGIN_MAX_FAILURES_PER_USERNAME = 3
    admin = make_user(role=Role.ADMIN, clinics=[clinic], is_staff=True)
    browser = Client()
    for _ in range(3):
        browser.post("/admin/login/", {"username": admin.username, "password": "wrong"})
    assert AuditEvent.objects.filter(action="login_failed", actor=admin).count() == 3
    response = browser.post(
        "/admin/login/?next=/admin/", {"username": admin.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200  # the login form again, not a redirect into the admin
    assert browser.get("/admin/clinic/patient/").status_code == 302


@pytest.mark.django_db
def test_a_clinic_admin_cannot_reach_into_another_clinic(
    clinic_admin_browser, clinic, other_clinic, make_user
) -> None:
    colleague = make_user(role=Role.NURSE, clinics=[clinic])
    form = clinic_admin_browser.get(f"/admin/clinic/user/{colleague.pk}/change/").content.decode()
    assert f'value="{clinic.pk}"' in form and f'value="{other_clinic.pk}"' not in form
    shared = make_user(role=Role.NURSE, clinics=[clinic, other_clinic])
    # Staff who also work for another clinic are read-only here.
    page = clinic_admin_browser.get(f"/admin/clinic/user/{shared.pk}/change/").content.decode()
    assert 'name="username"' not in page


@pytest.mark.django_db
def test_the_admin_audit_list_shows_only_this_clinics_patients(
    clinic_admin_browser, clinic, other_clinic
) -> None:
    from clinic.services import audit_record

    mine = PatientFactory.create(clinic=clinic, last_name="Mine")
    theirs = PatientFactory.create(clinic=other_clinic, last_name="Theirs")
    audit_record(actor=None, action="read", object_type="patient", object_id=mine.pk, patient=mine)
    audit_record(
        actor=None, action="read", object_type="patient", object_id=theirs.pk, patient=theirs
    )
    page = clinic_admin_browser.get("/admin/clinic/auditevent/").content
    assert b"Mine" in page and b"Theirs" not in page


@pytest.mark.django_db
def test_admin_edits_and_reads_of_patients_are_audited(clinic_admin_browser, clinic) -> None:
    patient = PatientFactory.create(clinic=clinic)
    clinic_admin_browser.get(f"/admin/clinic/patient/{patient.pk}/change/")
    assert AuditEvent.objects.filter(action="read", patient=patient).exists()
    clinic_admin_browser.post("/admin/clinic/chair/add/", {"clinic": clinic.pk, "name": "Z"})
    assert AuditEvent.objects.filter(action="create", object_type="chair").exists()
