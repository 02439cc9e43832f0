"""Invariants live in the database too: each named constraint rejects what it forbids."""

from datetime import time
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from clinic.models import AuditEvent, Chair, Clinic, Patient, Protocol, User
from clinic.services import audit_record
from tests.factories import ChairFactory, ClinicFactory, PatientFactory, ProtocolFactory


def violates(constraint: str, action) -> None:
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        action()
    assert getattr(caught.value.__cause__, "diag").constraint_name == constraint  # noqa: B009


@pytest.mark.django_db
def test_clinic_constraints(clinic) -> None:
    violates(
        "clinic_opens_before_it_closes",
        lambda: Clinic.objects.filter(pk=clinic.pk).update(
            opening_time=time(18), closing_time=time(8)
        ),
    )
    violates(
        "clinic_open_weekdays_valid",
        lambda: Clinic.objects.filter(pk=clinic.pk).update(open_weekdays=[1, 9]),
    )
    violates(
        "clinic_nurse_limit_positive",
        lambda: Clinic.objects.filter(pk=clinic.pk).update(nurse_concurrent_patient_limit=0),
    )


@pytest.mark.django_db
def test_user_role_constraint(make_user) -> None:
    user = make_user()
    violates("user_role_valid", lambda: User.objects.filter(pk=user.pk).update(role="overlord"))


@pytest.mark.django_db
def test_chair_names_are_unique_within_a_clinic(clinic) -> None:
    ChairFactory.create(clinic=clinic, name="A")
    violates("chair_name_unique_in_clinic", lambda: Chair.objects.create(clinic=clinic, name="A"))
    Chair.objects.create(clinic=ClinicFactory.create(), name="A")  # another clinic may


@pytest.mark.django_db
def test_patient_constraints(clinic) -> None:
    patient = PatientFactory.create(clinic=clinic)
    rows = Patient.objects.filter(pk=patient.pk)
    violates("patient_weight_plausible", lambda: rows.update(weight_kg=Decimal("5.0")))
    violates(
        "patient_preferred_channel_has_contact",
        lambda: rows.update(preferred_channel="sms", phone=""),
    )
    violates(
        "patient_preferred_channel_has_contact",
        lambda: rows.update(preferred_channel="email", email=""),
    )
    violates("patient_contraindications_known", lambda: rows.update(contraindications=["vertigo"]))


@pytest.mark.django_db
def test_protocol_constraints(clinic) -> None:
    protocol = ProtocolFactory.create(clinic=clinic, name="P")
    rows = Protocol.objects.filter(pk=protocol.pk)
    violates("protocol_iv_infusion_40_to_60_minutes", lambda: rows.update(infusion_minutes=61))
    violates(
        "protocol_vitals_interval_5_to_30_minutes", lambda: rows.update(vitals_interval_minutes=31)
    )
    violates(
        "protocol_infusion_minutes_bounded", lambda: rows.update(route="oral", infusion_minutes=0)
    )
    violates("protocol_dose_positive", lambda: rows.update(dose_mg_per_kg=Decimal("0")))
    violates(
        "protocol_name_unique_in_clinic", lambda: ProtocolFactory.create(clinic=clinic, name="P")
    )
    ProtocolFactory.create(clinic=None, name="Shared")
    violates(
        "protocol_name_unique_in_clinic", lambda: ProtocolFactory.create(clinic=None, name="Shared")
    )


@pytest.mark.django_db
def test_the_audit_trail_refuses_update_and_delete(clinic) -> None:
    patient = PatientFactory.create(clinic=clinic)
    audit_record(
        actor=None, action="read", object_type="patient", object_id=patient.pk, patient=patient
    )
    event = AuditEvent.objects.get()
    for statement in (
        "UPDATE clinic_auditevent SET action = 'nothing' WHERE id = %s",
        "DELETE FROM clinic_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()
    assert AuditEvent.objects.get().action == "read"
