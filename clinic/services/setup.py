"""Setting a clinic up: the clinic, its chairs, its staff and its protocols. Every entry point
owns its transaction (durable) and audits what it creates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from decimal import Decimal
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.audit import audit_creation
from clinic.models import (
    INTRANASAL_OBSERVATION_MINUTES,
    IV_INFUSION_MINUTES,
    Chair,
    Clinic,
    Protocol,
    Role,
    Route,
    User,
)
from clinic.thresholds import ThresholdError, validate_threshold_overrides
from config.errors import Invalid, NotFound


def clinic_require_access(*, actor: User, clinic: Clinic) -> None:
    """Refuse a clinic that is not one of the actor's as if it did not exist (404)."""
    if not actor.is_superuser and not actor.clinics.filter(pk=clinic.pk).exists():
        raise NotFound()


@transaction.atomic(durable=True)
def clinic_create(
    *,
    actor: User,
    name: str,
    timezone_name: str,
    opening_time: time,
    closing_time: time,
    open_weekdays: Sequence[int],
    nurse_concurrent_patient_limit: int = 2,
) -> Clinic:
    clinic = Clinic(
        name=name,
        timezone=timezone_name,
        opening_time=opening_time,
        closing_time=closing_time,
        open_weekdays=sorted(set(open_weekdays)),
        nurse_concurrent_patient_limit=nurse_concurrent_patient_limit,
    )
    if clinic.opening_time >= clinic.closing_time:
        raise Invalid(fields={"closing_time": ["Must be after the opening time."]})
    clinic.full_clean()
    clinic.save()
    if not actor.is_superuser:
        actor.clinics.add(clinic)  # the admin who opens a clinic runs it
    audit_creation(actor=actor, object_type="clinic", object_id=clinic.pk)
    return clinic


@transaction.atomic(durable=True)
def chair_create(*, actor: User, clinic: Clinic, name: str) -> Chair:
    clinic_require_access(actor=actor, clinic=clinic)
    if Chair.objects.filter(clinic=clinic, name=name).exists():
        raise Invalid(fields={"name": ["This clinic already has a chair with this name."]})
    chair = Chair.objects.create(clinic=clinic, name=name)
    audit_creation(actor=actor, object_type="chair", object_id=chair.pk)
    return chair


@transaction.atomic(durable=True)
def staff_create(
    *,
    actor: User,
    username: str,
    password: str,
    role: str,
    clinics: Sequence[Clinic],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    phone: str = "",
) -> User:
    if role == Role.PATIENT:
        raise Invalid(fields={"role": ["Patients are not staff."]})
    if not clinics:
        raise Invalid(fields={"clinics": ["Staff belong to at least one clinic."]})
    for clinic in clinics:
        clinic_require_access(actor=actor, clinic=clinic)
    if User.objects.filter(username__iexact=username).exists():
        raise Invalid(fields={"username": ["This username is taken."]})
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        is_staff=role == Role.ADMIN,  # clinic admins may use the Django admin
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(fields={"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    user.clinics.set(clinics)
    audit_creation(actor=actor, object_type="user", object_id=user.pk)
    return user


@transaction.atomic(durable=True)
def protocol_create(
    *,
    actor: User,
    clinic: Clinic | None,
    name: str,
    route: str,
    dose_mg_per_kg: Decimal,
    infusion_minutes: int,
    prep_minutes: int,
    recovery_minutes: int,
    vitals_interval_minutes: int,
    thresholds: dict[str, Any],
) -> Protocol:
    if clinic is None:
        clinics = list(actor.clinics.all())
        if actor.is_superuser:
            clinic = None  # a superuser's protocol without a clinic is offered to every clinic
        elif len(clinics) == 1:
            clinic = clinics[0]
        else:
            raise Invalid(fields={"clinic": ["Say which of your clinics this protocol is for."]})
    if clinic is not None:
        clinic_require_access(actor=actor, clinic=clinic)
    if route == Route.INTRANASAL and recovery_minutes < INTRANASAL_OBSERVATION_MINUTES:
        raise Invalid(
            fields={
                "recovery_minutes": [
                    "Esketamine needs at least 2 hours of observation after every dose "
                    "(Spravato label)."
                ]
            }
        )
    low, high = IV_INFUSION_MINUTES
    if route == Route.IV and not low <= infusion_minutes <= high:
        raise Invalid(
            fields={
                "infusion_minutes": [f"An IV infusion runs {low} to {high} minutes (CLINICAL.md)."]
            }
        )
    try:
        validate_threshold_overrides(thresholds)
    except ThresholdError as exc:
        raise Invalid(
            fields={
                "thresholds": [f"{path}: {'; '.join(msgs)}" for path, msgs in exc.errors.items()]
            }
        ) from exc
    if Protocol.objects.filter(clinic=clinic, name=name).exists():
        raise Invalid(fields={"name": ["A protocol with this name exists."]})
    protocol = Protocol(
        clinic=clinic,
        name=name,
        route=route,
        dose_mg_per_kg=dose_mg_per_kg,
        infusion_minutes=infusion_minutes,
        prep_minutes=prep_minutes,
        recovery_minutes=recovery_minutes,
        vitals_interval_minutes=vitals_interval_minutes,
        thresholds=thresholds,
        created_by=actor,
    )
    protocol.full_clean()
    protocol.save()
    audit_creation(actor=actor, object_type="protocol", object_id=protocol.pk)
    return protocol
