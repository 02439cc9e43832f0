"""Patients: registration, and the clinician's review of their intake contraindications."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_creation, audit_record
from clinic.models import AuditAction, Channel, Clinic, Patient, Role, User
from clinic.services.setup import clinic_require_access
from config.errors import Forbidden, Invalid


@transaction.atomic(durable=True)
def patient_create(
    *,
    actor: User,
    clinic: Clinic,
    first_name: str,
    last_name: str,
    date_of_birth: Any,
    weight_kg: Decimal,
    email: str = "",
    phone: str = "",
    preferred_channel: str = Channel.SMS,
    sms_opt_in: bool = True,
    email_opt_in: bool = True,
    contraindications: Sequence[str] = (),
) -> Patient:
    clinic_require_access(actor=actor, clinic=clinic)
    if date_of_birth > timezone.localdate():
        raise Invalid(fields={"date_of_birth": ["Must not be in the future."]})
    if preferred_channel == Channel.SMS and not phone:
        raise Invalid(fields={"phone": ["Required when the preferred channel is SMS."]})
    if preferred_channel == Channel.EMAIL and not email:
        raise Invalid(fields={"email": ["Required when the preferred channel is e-mail."]})
    patient = Patient(
        clinic=clinic,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        weight_kg=weight_kg,
        email=email,
        phone=phone,
        preferred_channel=preferred_channel,
        sms_opt_in=sms_opt_in,
        email_opt_in=email_opt_in,
        contraindications=sorted(set(contraindications)),
        created_by=actor,
    )
    patient.full_clean()
    patient.save()
    audit_creation(actor=actor, object_type="patient", object_id=patient.pk, patient=patient)
    return patient


@transaction.atomic(durable=True)
def patient_contraindications_review(*, actor: User, patient: Patient) -> Patient:
    """A clinician has reviewed the intake flags; booking is allowed from now on."""
    if actor.effective_role != Role.CLINICIAN:
        raise Forbidden(
            "permission_denied",
            "Only a clinician may review contraindications.",
        )
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.contraindications_reviewed_at is None:
        patient.contraindications_reviewed_at = timezone.now()
        patient.contraindications_reviewed_by = actor
        patient.save(
            update_fields=["contraindications_reviewed_at", "contraindications_reviewed_by"]
        )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="patient_contraindications",
        object_id=patient.pk,
        patient=patient,
    )
    return patient
