"""Every write in the scheduling app: booking, series, reschedule, the lifecycle, reminders.

Double booking is the database's to refuse (exclusion constraints on chair and patient, see
models.py); these services check everything else first so that the common mistakes get a clear
answer, and turn the constraint's refusal into the same 409 when two bookings race.
Lock order: a session row, then a nurse row. Nothing here holds a lock while doing I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.models import (
    Chair,
    Channel,
    NotificationKind,
    Patient,
    Protocol,
    Role,
    User,
)
from clinic.quiet_hours import before_quiet_hours, quiet_hours_end
from clinic.services import (
    audit_record,
    notification_schedule,
    notifications_cancel,
    patient_contact,
)
from config.errors import ApplicationError, Conflict, Invalid, error_from_integrity_error
from scheduling import lifecycle
from scheduling.availability import fits_clinic_hours
from scheduling.calendar import CalendarEvent, calendar_ics
from scheduling.models import (
    RELEASED_STATUSES,
    InfusionSeries,
    InfusionSession,
    SessionStatus,
    SessionTransition,
)
from scheduling.selectors import clinic_hours, live_sessions_overlapping

MAX_SERIES_SESSIONS = 24


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
    if not fits_clinic_hours(clinic_hours(clinic), starts_at, ends_at):
        start, end = starts_at.astimezone(clinic.zone), ends_at.astimezone(clinic.zone)
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


def session_transition_record(
    session: InfusionSession,
    *,
    action: str,
    actor: User | None,
    from_status: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    SessionTransition.objects.create(
        session=session,
        from_status=from_status,
        to_status=session.status,
        action=action,
        actor=actor,
        reason=reason,
        details=details or {},
    )
    audit_record(
        actor=actor,
        action=f"session_{action}",
        object_type="session",
        object_id=session.pk,
        patient=session.patient_id,
    )


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
    _schedule_reminders(session, now=now)
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


# --- Lifecycle ----------------------------------------------------------------------------------


def session_lock_for(session: InfusionSession, action: str) -> tuple[InfusionSession, str]:
    """Lock the session row and check that `action` is allowed from its current status."""
    locked = (
        # of=self: lock the session only, not the clinic, patient, protocol and chair joined in
        # (locking those would block every booking of the clinic and invite deadlocks).
        InfusionSession.objects.select_for_update(of=("self",), no_key=True)
        .select_related("clinic", "patient", "protocol", "chair")
        .get(pk=session.pk)
    )
    if not lifecycle.allowed(action, locked.status):
        raise Conflict(
            "invalid_transition",
            f"Cannot {action.replace('_', ' ')} a session that is "
            f"{locked.status.replace('_', ' ')}.",
            extra={"status": locked.status},
        )
    return locked, locked.status


def session_check_opened(session: InfusionSession, action: str, now: datetime) -> None:
    opens = session.starts_at - lifecycle.EARLY_ARRIVAL
    if now < opens:
        raise Conflict(
            "invalid_transition",
            f"Too early to {action.replace('_', ' ')}: it opens 60 minutes before the start.",
            extra={"opens_at": opens.isoformat()},
        )


@transaction.atomic(durable=True)
def session_check_in(
    *,
    actor: User,
    session: InfusionSession,
    fasting_confirmed: bool,
    escort_confirmed: bool,
    weight_kg: Decimal | None = None,
) -> InfusionSession:
    session, before = session_lock_for(session, "check_in")
    now = timezone.now()
    session_check_opened(session, "check_in", now)
    session.status = lifecycle.target("check_in")
    session.fasting_confirmed = fasting_confirmed
    session.escort_confirmed = escort_confirmed
    session.weight_kg = weight_kg
    session.checked_in_at = now
    session.save()
    session_transition_record(
        session,
        action="check_in",
        actor=actor,
        from_status=before,
        details={
            "fasting_confirmed": fasting_confirmed,
            "escort_confirmed": escort_confirmed,
            "weight_kg": str(weight_kg) if weight_kg is not None else None,
        },
    )
    return session


@transaction.atomic(durable=True)
def session_complete(*, actor: User, session: InfusionSession) -> InfusionSession:
    """The infusion is over; recovery begins."""
    session, before = session_lock_for(session, "complete")
    session.status = lifecycle.target("complete")
    session.completed_at = timezone.now()
    session.save()
    session_transition_record(session, action="complete", actor=actor, from_status=before)
    return session


@transaction.atomic(durable=True)
def session_cancel(*, actor: User, session: InfusionSession, reason: str) -> InfusionSession:
    session, before = session_lock_for(session, "cancel")
    session.status = lifecycle.target("cancel")
    session.revision += 1
    session.save()
    notifications_cancel(session=session.pk)
    session_transition_record(
        session, action="cancel", actor=actor, from_status=before, reason=reason
    )
    return session


def _mark_no_show(session: InfusionSession, actor: User | None) -> InfusionSession:
    session, before = session_lock_for(session, "no_show")
    session.status = lifecycle.target("no_show")
    session.save()
    notifications_cancel(session=session.pk)
    session_transition_record(session, action="no_show", actor=actor, from_status=before)
    return session


@transaction.atomic(durable=True)
def session_mark_no_show(*, actor: User, session: InfusionSession) -> InfusionSession:
    if timezone.now() < session.starts_at:
        raise Conflict(
            "invalid_transition",
            "A session that has not started yet cannot be a no-show.",
        )
    return _mark_no_show(session, actor)


def sessions_mark_no_shows() -> int:
    """Beat job: every session still scheduled 30 minutes after its start is a no-show. Each
    in its own transaction, so one bad row cannot hold back the rest; safe to run twice."""
    cutoff = timezone.now() - lifecycle.NO_SHOW_AFTER
    overdue = list(
        InfusionSession.objects.filter(status=SessionStatus.SCHEDULED, starts_at__lte=cutoff)
        .order_by("starts_at")
        .values_list("pk", flat=True)[:500]
    )
    marked = 0
    for session_id in overdue:
        with transaction.atomic():
            session = InfusionSession(pk=session_id)
            try:
                _mark_no_show(session, None)
            except ApplicationError:
                continue  # checked in or cancelled since we looked
            marked += 1
    return marked


@transaction.atomic(durable=True)
def session_reschedule(
    *,
    actor: User,
    session: InfusionSession,
    starts_at: datetime,
    chair: Chair | None = None,
) -> InfusionSession:
    """Move a session (and its reminders) in one transaction: all of it or nothing."""
    session, before = session_lock_for(session, "reschedule")
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
    _schedule_reminders(session, now=timezone.now())
    session_transition_record(
        session,
        action="reschedule",
        actor=actor,
        from_status=before,
        details={"from": old, "to": {"starts_at": starts_at.isoformat(), "chair": new_chair.pk}},
    )
    return session


# --- Reminders ----------------------------------------------------------------------------------

# A reminder that would reach the patient later than this before the start is no reminder.
REMINDER_MIN_LEAD = timedelta(minutes=30)

REMINDER_TEXT = (
    "Reminder from {clinic}: your infusion is on {when} ({zone}). "
    "Please eat no solid food for 6 hours before it; clear liquids are fine until 2 hours "
    "before. Bring an adult to take you home: you must not drive until the next day."
)


def session_calendar_event(session: InfusionSession) -> CalendarEvent:
    clinic = session.clinic
    return CalendarEvent(
        uid=f"session-{session.pk}@infusion-clinic",
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        summary=f"Infusion at {clinic.name}",
        location=clinic.name,
        description=(
            "No solid food for 6 hours before; clear liquids until 2 hours before. "
            "Bring an adult to take you home; no driving until the next day."
        ),
        sequence=session.revision,
        cancelled=session.status in RELEASED_STATUSES,
    )


def _schedule_reminders(session: InfusionSession, *, now: datetime) -> None:
    """Write the session's reminders to the outbox at once (API.md): by the patient's channel,
    each at its offset before the start, moved out of quiet hours to the evening before."""
    contact = patient_contact(patient=session.patient)
    if contact is None:
        return  # opted out of everything, or no address
    channel, address = contact
    clinic = session.clinic
    zone = clinic.zone
    local = session.starts_at.astimezone(zone)
    body = REMINDER_TEXT.format(
        clinic=clinic.name, when=f"{local:%A %d %B at %H:%M}", zone=clinic.timezone
    )
    ics = ""
    if channel == Channel.EMAIL:
        ics = calendar_ics([session_calendar_event(session)], name=clinic.name).decode()
    quiet = (zone, clinic.quiet_hours_start, clinic.quiet_hours_end)
    for hours in clinic.reminder_offsets_hours:
        due = session.starts_at - timedelta(hours=hours)
        morning = quiet_hours_end(due, *quiet)
        if morning is not None:
            # Due in quiet hours: wait for the morning if that is still well before the start
            # (a 07:00 reminder for 09:00 goes at 08:00), else go the evening before.
            due = (
                morning
                if morning <= session.starts_at - REMINDER_MIN_LEAD
                else before_quiet_hours(due, *quiet)
            )
        if due <= now:
            continue  # booked too close to the start for this one
        notification_schedule(
            clinic=clinic,
            kind=NotificationKind.APPOINTMENT_REMINDER,
            channel=channel,
            recipient=address,
            subject=f"Your infusion on {local:%A %d %B at %H:%M}",
            body=body,
            calendar_ics=ics,
            scheduled_for=due,
            dedup_key=f"session:{session.pk}:rev{session.revision}:reminder:{hours}h",
            patient=session.patient,
            session=session.pk,
        )
