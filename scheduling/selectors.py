"""Every read in the scheduling app, scoped to the caller (clinic.selectors decides the scope)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet

from clinic.filters import filtered
from clinic.models import Chair, Clinic, Patient, Protocol, Role, User
from clinic.selectors import clinic_list
from config.errors import get_or_not_found
from scheduling.availability import (
    Booking,
    ClinicHours,
    Slot,
    free_slots,
    local_day_bounds,
    suggest_series,
)
from scheduling.filters import SessionFilter
from scheduling.models import RELEASED_STATUSES, InfusionSeries, InfusionSession

# With no preferred time and no earlier session, suggest mid-morning.
DEFAULT_PREFERRED_TIME = time(10, 0)


def clinic_hours(clinic: Clinic) -> ClinicHours:
    return ClinicHours(
        tz=clinic.zone,
        opening_time=clinic.opening_time,
        closing_time=clinic.closing_time,
        open_weekdays=frozenset(clinic.open_weekdays),
    )


def live_sessions_overlapping(start: datetime, end: datetime) -> QuerySet[InfusionSession]:
    """Sessions that hold their chair (not cancelled, not no-show) at some time in [start, end)."""
    return InfusionSession.objects.filter(starts_at__lt=end, ends_at__gt=start).exclude(
        status__in=RELEASED_STATUSES
    )


def usual_start_time(*, patient_id: int, clinic: Clinic) -> time:
    """The local start time of the patient's latest session, else mid-morning."""
    latest = (
        InfusionSession.objects.filter(patient_id=patient_id)
        .order_by("-starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    return latest.astimezone(clinic.zone).time() if latest else DEFAULT_PREFERRED_TIME


def protocol_offered_by(*, protocol: Protocol, clinic: Clinic) -> bool:
    return protocol.clinic_id in (None, clinic.pk)


def _clinics_of(user: User) -> QuerySet[Clinic]:
    if user.effective_role == Role.PATIENT:
        return Clinic.objects.filter(patients__user=user)
    return clinic_list(user=user)


def session_list(
    *, user: User, filters: Mapping[str, Any] | None = None
) -> QuerySet[InfusionSession]:
    sessions = InfusionSession.objects.select_related("clinic").prefetch_related("transitions")
    if user.effective_role == Role.PATIENT:
        sessions = sessions.filter(patient__user=user)
    else:
        sessions = sessions.filter(clinic__in=clinic_list(user=user))
    if not filters:
        return sessions  # ingest looks sessions up here: no FilterSet on its hot path
    # A day is a day in each session's own clinic: the FilterSet is told the caller's clinics.
    return filtered(SessionFilter, sessions, filters, clinics=_clinics_of(user))


def session_get(*, user: User, session_id: object) -> InfusionSession:
    return get_or_not_found(session_list(user=user), pk=session_id)


def session_with_transitions(*, session_id: int) -> InfusionSession:
    """A session just written, read back with its transitions for the answer. Not scoped: the
    caller found it in their scope before writing it."""
    return InfusionSession.objects.prefetch_related("transitions").get(pk=session_id)


def series_with_sessions(*, series_id: int) -> InfusionSeries:
    """A series just booked, read back with its sessions and their transitions (not scoped,
    like session_with_transitions)."""
    return InfusionSeries.objects.prefetch_related("sessions__transitions").get(pk=series_id)


def patient_calendar_sessions(*, user: User, patient: Patient) -> QuerySet[InfusionSession]:
    """The patient's sessions in the caller's scope, in start order, for their calendar feed."""
    return session_list(user=user).filter(patient=patient).order_by("starts_at")


def _live_bookings(*, clinic: Clinic, start: datetime, end: datetime) -> list[Booking]:
    return [
        Booking(chair_id=chair_id, starts_at=starts_at, ends_at=ends_at)
        for chair_id, starts_at, ends_at in live_sessions_overlapping(start, end)
        .filter(clinic=clinic)
        .values_list("chair_id", "starts_at", "ends_at")
    ]


def availability(*, clinic: Clinic, protocol: Protocol, day: date, now: datetime) -> list[Slot]:
    """Free starts on the day for the protocol's whole booking, in two queries whatever the
    number of chairs or bookings: the clinic's chairs, and the day's live sessions."""
    chair_ids = list(
        Chair.objects.filter(clinic=clinic, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    start, end = local_day_bounds(clinic.zone, day)
    return free_slots(
        day=day,
        hours=clinic_hours(clinic),
        duration=timedelta(minutes=protocol.booked_minutes),
        chair_ids=chair_ids,
        bookings=_live_bookings(clinic=clinic, start=start, end=end),
        not_before=now,
    )


def series_suggestion(
    *,
    clinic: Clinic,
    patient_id: int,
    protocol: Protocol,
    first_day: date,
    count: int,
    within_days: int,
    preferred_time: time,
    now: datetime,
) -> list[Slot]:
    start, _ = local_day_bounds(clinic.zone, first_day)
    _, end = local_day_bounds(clinic.zone, first_day + timedelta(days=within_days))
    chair_ids = list(
        Chair.objects.filter(clinic=clinic, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    patient_busy = list(
        live_sessions_overlapping(start, end)
        .filter(patient_id=patient_id)
        .values_list("starts_at", "ends_at")
    )
    return suggest_series(
        first_day=first_day,
        count=count,
        within_days=within_days,
        preferred_time=preferred_time,
        hours=clinic_hours(clinic),
        duration=timedelta(minutes=protocol.booked_minutes),
        chair_ids=chair_ids,
        bookings=_live_bookings(clinic=clinic, start=start, end=end),
        patient_busy=patient_busy,
        not_before=now,
    )
