"""Reads of patient data are audited by the selectors that answer them; the `*_get` lookups
that the permission class makes before refusing a role leave no trace."""

from collections.abc import Callable

import pytest

from clinic import selectors
from clinic.models import AuditEvent, Clinic, Role, User
from tests.conftest import audited_reads
from tests.factories import PatientFactory


@pytest.mark.django_db
def test_looking_a_patient_up_is_not_a_read_and_reading_is(
    make_user: Callable[..., User], clinic: Clinic
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    patient = PatientFactory.create(clinic=clinic)

    selectors.patient_get(user=nurse, patient_id=patient.pk)
    assert audited_reads() == []

    selectors.patient_read(user=nurse, patient_id=patient.pk)
    assert audited_reads() == [("patient", str(patient.pk), patient.pk)]


@pytest.mark.django_db
def test_a_page_read_audits_exactly_the_rows_of_the_page(
    make_user: Callable[..., User], clinic: Clinic
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    patients = [PatientFactory.create(clinic=clinic) for _ in range(3)]

    page = selectors.patient_page_read(
        user=nurse, filters={}, cut=lambda queryset: list(queryset.order_by("pk")[:2])
    )

    assert page == patients[:2]
    assert audited_reads() == [("patient", str(p.pk), p.pk) for p in patients[:2]]


@pytest.mark.django_db
def test_a_role_refused_on_a_patients_url_leaves_no_trace(api_as, clinic: Clinic) -> None:
    patient = PatientFactory.create(clinic=clinic)

    refused = api_as("nurse").post(f"/api/v1/patients/{patient.pk}/contraindications-review/")

    assert refused.status_code == 403
    assert not AuditEvent.objects.filter(patient=patient).exists()
