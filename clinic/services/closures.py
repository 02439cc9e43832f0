"""A clinic's closures: a day it is shut (a holiday), or open shorter hours (a training
afternoon). Booking, availability and series suggestions read them
(scheduling.selectors.clinic_hours). A new closure moves no booking: the sessions it hits are
listed for rescheduling by scheduling (GET /clinics/{id}/closures/{id}/affected-sessions/),
since this app knows no sessions."""

from __future__ import annotations

from datetime import date, time

from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_creation
from clinic.models import Clinic, ClinicClosure, User
from clinic.services.setup import clinic_require_access
from config.errors import Invalid

# Said by the service's own check and by the constraint `closure_one_per_clinic_day` when two
# requests race past it (registered in ClinicConfig.ready): one answer either way.
CLOSURE_EXISTS = "The clinic already has a closure on this date: one closure a day."


def _closure_errors(
    *,
    clinic: Clinic,
    day: date,
    opens_at: time | None,
    closes_at: time | None,
    reason: str,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if day < timezone.now().astimezone(clinic.zone).date():
        errors["date"] = ["The date has passed."]
    if not reason:
        errors["reason"] = ["Say why the clinic closes."]
    if opens_at is None and closes_at is None:
        return errors  # closed all day
    if opens_at is None or closes_at is None:
        missing = "opens_at" if opens_at is None else "closes_at"
        errors[missing] = [
            "Give both opens_at and closes_at (open only between them), or neither (closed all "
            "day)."
        ]
    elif opens_at >= closes_at:
        errors["closes_at"] = ["Must be after opens_at."]
    elif opens_at < clinic.opening_time or closes_at > clinic.closing_time:
        errors["opens_at"] = [
            "A closure only shortens the day: the clinic is open "
            f"{clinic.opening_time:%H:%M}-{clinic.closing_time:%H:%M}."
        ]
    elif (opens_at, closes_at) == (clinic.opening_time, clinic.closing_time):
        errors["opens_at"] = ["These are the clinic's usual hours: nothing would close."]
    return errors


@transaction.atomic(durable=True)
def clinic_closure_create(
    *,
    actor: User,
    clinic: Clinic,
    date: date,
    reason: str,
    opens_at: time | None = None,
    closes_at: time | None = None,
) -> ClinicClosure:
    """Close the clinic on `date` (local), all day, or but for `opens_at`-`closes_at` (within its
    usual hours). One closure a day; the day must not have passed. Booked sessions stay where
    they are."""
    clinic_require_access(actor=actor, clinic=clinic)
    reason = reason.strip()
    errors = _closure_errors(
        clinic=clinic, day=date, opens_at=opens_at, closes_at=closes_at, reason=reason
    )
    if errors:
        raise Invalid(fields=errors)
    if ClinicClosure.objects.filter(clinic=clinic, date=date).exists():
        raise Invalid.field("date", CLOSURE_EXISTS)
    closure = ClinicClosure.objects.create(
        clinic=clinic,
        date=date,
        opens_at=opens_at,
        closes_at=closes_at,
        reason=reason,
        created_by=actor,
    )
    audit_creation(actor=actor, object_type="clinic_closure", object_id=closure.pk)
    return closure
