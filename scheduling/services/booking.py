"""Booking: single sessions, series and reschedules.

Double booking is the database's to refuse (exclusion constraints on chair and patient, see
models.py); these services check everything else first so that the common mistakes get a clear
answer, and turn the constraint's refusal into the same 409 when two bookings race.
Lock order: a session row, then a nurse row. Nothing here holds a lock while doing I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.models import (
    Chair,
    NotificationKind,
    Patient,
    Protocol,
    Role,
    User,
)
from clinic.services import (
    notifications_cancel,
)
from config.errors import ApplicationError, Conflict, Invalid, error_from_integrity_error
from scheduling import lifecycle
from scheduling.availability import closed_for, fits_clinic_hours
from scheduling.models import (
    InfusionSeries,
    InfusionSession,
)
from scheduling.selectors import (
    clinic_closure_on,
    clinic_hours,
    live_sessions_overlapping,
    patient_spacing,
)
from scheduling.services.reminders import schedule_reminders
from scheduling.services.status import session_lock, session_transition_record

MAX_SERIES_SESSIONS = 24

# Called with each new booking, inside its transaction, by the apps above scheduling
# (registered in their AppConfig.ready: monitoring creates a first booking's baseline
# questionnaires). Scheduling imports none of them.
_BOOKING_HOOKS: list[Callable[[InfusionSession], None]] = []


def register_booking_hook(hook: Callable[[InfusionSession], None]) -> None:
    if hook not in _BOOKING_HOOKS:
        _BOOKING_HOOKS.append(hook)


def _invalid(field: str, message: str, code: str = "invalid") -> ApplicationError:
    return Invalid(code, message, fields={field: [message]})


def _slot_conflict(conflict: str, message: str, **extra: Any) -> ApplicationError:
    return Conflict(
        "slot_conflict",
        message,
        extra={"conflict": conflict, **extra},
    )


# --- Booking rules ----------------------------------------------------------------------------


def _check_booking(
    *,
    patient: Patient,
    protocol: Protocol,
    chair: Chair,
    nurse: User | None,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> None:
    """Everything about a booking but overlaps, which the database decides."""
    clinic = chair.clinic
    if patient.clinic_id != clinic.pk:
        raise _invalid("patient", "The patient belongs to another clinic than the chair.")
    if protocol.clinic_id not in (None, clinic.pk):
        raise _invalid("protocol", "The protocol belongs to another clinic than the chair.")
    if not chair.is_active:
        raise _invalid("chair", "This chair is out of service.")
    if not protocol.is_active:
        raise _invalid("protocol", "This protocol is retired.")
    if starts_at < now - lifecycle.WALK_IN_GRACE:
        raise _invalid("starts_at", "The start is in the past.")
    start, end = starts_at.astimezone(clinic.zone), ends_at.astimezone(clinic.zone)
    hours = clinic_hours(clinic, first_day=start.date(), last_day=start.date())
    if closed_for(hours, starts_at, ends_at):
        closure = clinic_closure_on(clinic=clinic, day=start.date())
        raise _slot_conflict(
            "closure",
            f"The clinic is closed on {start:%a %d %b}"
            + (
                f" outside {closure.opens_at:%H:%M}-{closure.closes_at:%H:%M}"
                if closure.opens_at
                else ""
            )
            + f": {closure.reason}",
            closure=closure.pk,
        )
    if not fits_clinic_hours(hours, starts_at, ends_at):
        raise _invalid(
            "starts_at",
            f"{start:%a %d %b %H:%M} to {end:%H:%M} ({clinic.timezone}) "
            "is outside the clinic's hours.",
            code="outside_clinic_hours",
        )
    if patient.contraindications_unreviewed:
        raise Conflict(
            "contraindications_unreviewed",
            "The patient has intake contraindication flags a clinician has not reviewed yet.",
            extra={"contraindications": list(patient.contraindications)},
        )
    if nurse is not None and (
        nurse.effective_role != Role.NURSE or not nurse.clinics.filter(pk=clinic.pk).exists()
    ):
        raise _invalid("nurse", "Not a nurse of this clinic.")


def _check_patient_spacing(
    *,
    patient: Patient,
    clinic: Any,
    starts_at: datetime,
    ends_at: datetime,
    exclude: int | None = None,
) -> None:
    """No two of a patient's infusions start within the clinic's minimum gap (CLINICAL.md
    "Spacing"). A gap, not an overlap: checked under a lock on the patient's row, so that two
    bookings of one patient cannot both pass. Overlaps are left to the exclusion constraint
    (conflict "patient")."""
    Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).first()
    spacing = patient_spacing(
        patient_id=patient.pk, clinic=clinic, start=starts_at, end=ends_at, exclude=exclude
    )
    near = [
        other_start
        for other_start, other_end in spacing.busy
        if not (other_start < ends_at and starts_at < other_end)
        and abs(starts_at - other_start) < spacing.min_gap
    ]
    if near:
        other = min(near, key=lambda moment: abs(starts_at - moment)).astimezone(clinic.zone)
        raise _slot_conflict(
            "patient_interval",
            f"The patient has another infusion at {other:%a %d %b %H:%M}: infusions start at "
            f"least {clinic.min_hours_between_infusions} hours apart.",
        )


def _check_nurse_capacity(
    *, nurse: User, clinic: Any, starts_at: datetime, ends_at: datetime, exclude: int | None = None
) -> None:
    """A nurse's limit of concurrent patients is a count, not an overlap: counted under a lock
    on the nurse's row so that two bookings cannot both take the last place."""
    User.objects.select_for_update(no_key=True).filter(pk=nurse.pk).first()
    overlapping = (
        live_sessions_overlapping(starts_at, ends_at)
        .filter(nurse=nurse)
        .exclude(pk__in=[exclude] if exclude is not None else [])
        .count()
    )
    if overlapping >= clinic.nurse_concurrent_patient_limit:
        raise _slot_conflict(
            "nurse",
            f"The nurse already has {overlapping} patient(s) at that time "
            f"(the clinic's limit is {clinic.nurse_concurrent_patient_limit}).",
        )


def _save_or_conflict(session: InfusionSession, **extra: Any) -> None:
    """Save in a savepoint; an exclusion-constraint refusal becomes a 409 naming the conflict."""
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError as error:
        mapped = error_from_integrity_error(error)
        if mapped is None:
            raise
        mapped.extra.update(extra)
        raise mapped from error


def _book(
    *,
    actor: User,
    patient: Patient,
    protocol: Protocol,
    chair: Chair,
    starts_at: datetime,
    nurse: User | None,
    series: InfusionSeries | None = None,
    conflict_extra: dict[str, Any] | None = None,
) -> InfusionSession:
    now = timezone.now()
    ends_at = starts_at + timedelta(minutes=protocol.booked_minutes)
    _check_booking(
        patient=patient,
        protocol=protocol,
        chair=chair,
        nurse=nurse,
        starts_at=starts_at,
        ends_at=ends_at,
        now=now,
    )
    _check_patient_spacing(
        patient=patient, clinic=chair.clinic, starts_at=starts_at, ends_at=ends_at
    )
    if nurse is not None:
        _check_nurse_capacity(
            nurse=nurse, clinic=chair.clinic, starts_at=starts_at, ends_at=ends_at
        )
    session = InfusionSession(
        clinic=chair.clinic,
        patient=patient,
        protocol=protocol,
        chair=chair,
        nurse=nurse,
        series=series,
        starts_at=starts_at,
        ends_at=ends_at,
        booked_by=actor,
        booked_at=now,
    )
    _save_or_conflict(session, **(conflict_extra or {}))
    session_transition_record(session, action="book", actor=actor, from_status="")
    schedule_reminders(session, now=now)
    for hook in _BOOKING_HOOKS:
        hook(session)
    return session


@transaction.atomic(durable=True)
def session_book(
    *,
    actor: User,
    patient: Patient,
    protocol: Protocol,
    chair: Chair,
    starts_at: datetime,
    nurse: User | None = None,
) -> InfusionSession:
    return _book(
        actor=actor,
        patient=patient,
        protocol=protocol,
        chair=chair,
        starts_at=starts_at,
        nurse=nurse,
    )


def _first_free_chair(*, clinic: Any, starts_at: datetime, ends_at: datetime) -> Chair | None:
    busy = live_sessions_overlapping(starts_at, ends_at).filter(clinic=clinic).values("chair_id")
    return (
        Chair.objects.select_related("clinic")
        .filter(clinic=clinic, is_active=True)
        .exclude(pk__in=busy)
        .order_by("pk")
        .first()
    )


@transaction.atomic(durable=True)
def series_book(
    *,
    actor: User,
    patient: Patient,
    protocol: Protocol,
    starts_at: Sequence[datetime],
    chair: Chair | None = None,
) -> InfusionSeries:
    """Book every start or none: one transaction, and the 409 says which start failed.
    Without a chair, each session takes the first chair free at its time."""
    if not 1 <= len(starts_at) <= MAX_SERIES_SESSIONS:
        raise _invalid("starts_at", f"Give 1 to {MAX_SERIES_SESSIONS} start times.")
    if len(set(starts_at)) != len(starts_at):
        raise _invalid("starts_at", "The same start is given twice.")
    series = InfusionSeries.objects.create(patient=patient, protocol=protocol, created_by=actor)
    for index, start in enumerate(sorted(starts_at)):
        where = {"index": starts_at.index(start), "starts_at": start.isoformat()}
        seat = chair
        if seat is None:
            seat = _first_free_chair(
                clinic=patient.clinic,
                starts_at=start,
                ends_at=start + timedelta(minutes=protocol.booked_minutes),
            )
            if seat is None:
                raise _slot_conflict("chair", f"No chair is free at start {index + 1}.", **where)
        try:
            _book(
                actor=actor,
                patient=patient,
                protocol=protocol,
                chair=seat,
                starts_at=start,
                nurse=None,
                series=series,
                conflict_extra=where,
            )
        except ApplicationError as error:
            error.extra.update(where)
            raise
    return series


@transaction.atomic(durable=True)
def session_reschedule(
    *,
    actor: User,
    session: InfusionSession,
    starts_at: datetime,
    chair: Chair | None = None,
) -> InfusionSession:
    """Move a session (and its reminders) in one transaction: all of it or nothing."""
    session = session_lock(session, "reschedule")  # its status stays: scheduled
    before = session.status
    new_chair = chair or session.chair
    duration = session.ends_at - session.starts_at  # frozen at booking
    ends_at = starts_at + duration
    old = {"starts_at": session.starts_at.isoformat(), "chair": session.chair_id}
    _check_booking(
        patient=session.patient,
        protocol=session.protocol,
        chair=new_chair,
        nurse=session.nurse,
        starts_at=starts_at,
        ends_at=ends_at,
        now=timezone.now(),
    )
    _check_patient_spacing(
        patient=session.patient,
        clinic=new_chair.clinic,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude=session.pk,
    )
    if session.nurse is not None:
        _check_nurse_capacity(
            nurse=session.nurse,
            clinic=new_chair.clinic,
            starts_at=starts_at,
            ends_at=ends_at,
            exclude=session.pk,
        )
    session.starts_at, session.ends_at, session.chair = starts_at, ends_at, new_chair
    session.revision += 1
    _save_or_conflict(session)
    notifications_cancel(session=session.pk, kind=NotificationKind.APPOINTMENT_REMINDER)
    schedule_reminders(session, now=timezone.now())
    session_transition_record(
        session,
        action="reschedule",
        actor=actor,
        from_status=before,
        details={"from": old, "to": {"starts_at": starts_at.isoformat(), "chair": new_chair.pk}},
    )
    return session
