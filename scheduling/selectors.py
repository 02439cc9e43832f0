"""Every read in the scheduling app, scoped to the caller (clinic.selectors decides the scope)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypedDict

from django.db.models import Prefetch, Q, QuerySet

from clinic.audit import audit_read, audit_read_many
from clinic.filters import filtered
from clinic.models import Chair, Clinic, ClinicClosure, Patient, Protocol, Role, User
from clinic.selectors import (
    PageCut,
    clinic_closure_get,
    clinic_get,
    clinic_list,
    in_caller_scope,
    patient_get,
    patient_list,
    protocol_get,
)
from config.errors import Invalid, get_or_not_found
from scheduling.availability import (
    Booking,
    ClinicHours,
    PatientSpacing,
    Slot,
    free_slots,
    local_day_bounds,
    nurses_free,
    suggest_series,
)
from scheduling.filters import SessionFilter
from scheduling.models import RELEASED_STATUSES, InfusionSeries, InfusionSession, SessionStatus

# With no preferred time and no earlier session, suggest mid-morning.
DEFAULT_PREFERRED_TIME = time(10, 0)


def clinic_hours(clinic: Clinic, *, first_day: date, last_day: date) -> ClinicHours:
    """The clinic's hours, with its closures from `first_day` to `last_day` (local dates)."""
    closures = ClinicClosure.objects.filter(
        clinic=clinic, date__gte=first_day, date__lte=last_day
    ).values_list("date", "opens_at", "closes_at")
    return ClinicHours(
        tz=clinic.zone,
        opening_time=clinic.opening_time,
        closing_time=clinic.closing_time,
        open_weekdays=frozenset(clinic.open_weekdays),
        closures={
            day: (opens, closes) if opens is not None and closes is not None else None
            for day, opens, closes in closures
        },
    )


def clinic_closure_on(*, clinic: Clinic, day: date) -> ClinicClosure:
    return ClinicClosure.objects.get(clinic=clinic, date=day)


def patient_spacing(
    *, patient_id: int, clinic: Clinic, start: datetime, end: datetime, exclude: int | None = None
) -> PatientSpacing:
    """The patient's live bookings that could clash with a start in [start, end): overlapping
    it, or starting within the clinic's minimum gap between infusions of it."""
    gap = timedelta(hours=clinic.min_hours_between_infusions)
    busy = (
        InfusionSession.objects.filter(
            patient_id=patient_id, starts_at__lt=end + gap, ends_at__gt=start - gap
        )
        .exclude(status__in=RELEASED_STATUSES)
        .exclude(pk__in=[exclude] if exclude is not None else [])
        .values_list("starts_at", "ends_at")
    )
    return PatientSpacing(list(busy), gap)


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
    sessions = in_caller_scope(
        InfusionSession.objects.select_related("clinic").prefetch_related("transitions"),
        user=user,
    )
    if not filters:
        return sessions  # ingest looks sessions up here: no FilterSet on its hot path
    # A day is a day in each session's own clinic: the FilterSet is told the caller's clinics.
    return filtered(SessionFilter, sessions, filters, clinics=_clinics_of(user))


def session_get(*, user: User, session_id: object) -> InfusionSession:
    """The session in the caller's scope, unaudited: for writes and lookups, and for the
    permission class, which looks a URL's session up before refusing a role (a refusal leaves
    no trace). Reading the session's record is session_read."""
    return get_or_not_found(session_list(user=user), pk=session_id)


# What a session's answer names (patient_name, chair_name, ...): joined, not a query a row.
NAMED = ("patient", "chair", "protocol", "nurse")


def session_with_transitions(*, session_id: int) -> InfusionSession:
    """A session just written, read back with its transitions for the answer. Not scoped: the
    caller found it in their scope before writing it."""
    return (
        InfusionSession.objects.select_related(*NAMED)
        .prefetch_related("transitions")
        .get(pk=session_id)
    )


def series_with_sessions(*, series_id: int) -> InfusionSeries:
    """A series just written (booked, cancelled), read back with its sessions in start order and
    their transitions (not scoped, like session_with_transitions)."""
    sessions = (
        InfusionSession.objects.select_related(*NAMED)
        .prefetch_related("transitions")
        .order_by("starts_at", "pk")
    )
    return InfusionSeries.objects.prefetch_related(Prefetch("sessions", queryset=sessions)).get(
        pk=series_id
    )


def series_list(*, user: User) -> QuerySet[InfusionSeries]:
    """The series of the patients in the caller's scope."""
    return InfusionSeries.objects.filter(patient__in=patient_list(user=user))


def series_get(*, user: User, series_id: object) -> InfusionSeries:
    """The series in the caller's scope, unaudited (for writes, and for the permission class)."""
    return get_or_not_found(series_list(user=user), pk=series_id)


def series_read(*, user: User, series_id: object) -> InfusionSeries:
    """The series in the caller's scope with its sessions; the read of the series and of each
    session shown is audited (one INSERT)."""
    series = get_or_not_found(
        series_list(user=user).prefetch_related(
            Prefetch(
                "sessions",
                queryset=InfusionSession.objects.select_related(*NAMED)
                .prefetch_related("transitions")
                .order_by("starts_at", "pk"),
            )
        ),
        pk=series_id,
    )
    audit_read_many(
        actor=user,
        entries=[
            ("series", series.pk, series.patient_id),
            *(("session", session.pk, series.patient_id) for session in series.sessions.all()),
        ],
    )
    return series


# A closure hits the sessions that would still take place: booked, or already checked in.
NOT_YET_STARTED = (SessionStatus.SCHEDULED, SessionStatus.CHECKED_IN)


def closure_affected_sessions(*, user: User, closure: ClinicClosure) -> QuerySet[InfusionSession]:
    """The clinic's sessions, scheduled or checked in, that `closure` hits: on a day closed all
    day, every one on that local date; on shortened hours, those not held wholly within
    opens_at-closes_at (as booking's hours check would refuse them now). Never moved here."""
    zone = closure.clinic.zone
    day_start, day_end = local_day_bounds(zone, closure.date)
    sessions = session_list(user=user).filter(
        clinic_id=closure.clinic_id,
        status__in=NOT_YET_STARTED,
        starts_at__lt=day_end,
        ends_at__gt=day_start,
    )
    if closure.opens_at is not None and closure.closes_at is not None:
        opens = datetime.combine(closure.date, closure.opens_at, tzinfo=zone)
        closes = datetime.combine(closure.date, closure.closes_at, tzinfo=zone)
        sessions = sessions.filter(Q(starts_at__lt=opens) | Q(ends_at__gt=closes))
    return sessions.select_related(*NAMED)


def closure_affected_page_read(
    *, user: User, clinic_id: int, closure_id: object, cut: PageCut[InfusionSession]
) -> list[InfusionSession]:
    """The page `cut` takes of the sessions a closure of the caller's clinic hits; each read is
    audited."""
    closure = clinic_closure_get(user=user, clinic_id=clinic_id, closure_id=closure_id)
    sessions = cut(closure_affected_sessions(user=user, closure=closure))
    audit_read_many(
        actor=user, entries=[("session", session.pk, session.patient_id) for session in sessions]
    )
    return sessions


def session_read(*, user: User, session_id: object) -> InfusionSession:
    """The session in the caller's scope; the read is audited (session_get, which the permission
    class calls before refusing a role, is not)."""
    session = get_or_not_found(session_list(user=user).select_related(*NAMED), pk=session_id)
    audit_read(actor=user, object_type="session", object_id=session.pk, patient=session.patient_id)
    return session


def session_page_read(
    *, user: User, filters: Mapping[str, Any] | None, cut: PageCut[InfusionSession]
) -> list[InfusionSession]:
    """The page `cut` takes of the caller's sessions, filtered; each read is audited."""
    sessions = cut(session_list(user=user, filters=filters).select_related(*NAMED))
    audit_read_many(
        actor=user, entries=[("session", session.pk, session.patient_id) for session in sessions]
    )
    return sessions


def patient_calendar_read(
    *, user: User, patient_id: object
) -> tuple[Patient, list[InfusionSession]]:
    """The patient and their sessions in the caller's scope, in start order, for their calendar
    feed; the read is audited."""
    patient = patient_get(user=user, patient_id=patient_id)
    sessions = list(session_list(user=user).filter(patient=patient).order_by("starts_at"))
    audit_read(actor=user, object_type="patient_calendar", object_id=patient.pk, patient=patient)
    return patient, sessions


def _live_bookings(*, clinic: Clinic, start: datetime, end: datetime) -> list[Booking]:
    return [
        Booking(chair_id=chair_id, starts_at=starts_at, ends_at=ends_at)
        for chair_id, starts_at, ends_at in live_sessions_overlapping(start, end)
        .filter(clinic=clinic)
        .values_list("chair_id", "starts_at", "ends_at")
    ]


class _Capacity(TypedDict):
    hours: ClinicHours
    duration: timedelta
    chair_ids: list[int]
    bookings: list[Booking]


def _capacity(*, clinic: Clinic, protocol: Protocol, start: datetime, end: datetime) -> _Capacity:
    """What the slot rules need to know of the clinic between `start` and `end` to place the
    protocol's booking: its hours and closures, the booking's length, its active chairs and
    their live bookings (three queries)."""
    chair_ids = list(
        Chair.objects.filter(clinic=clinic, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    zone = clinic.zone
    return {
        "hours": clinic_hours(
            clinic, first_day=start.astimezone(zone).date(), last_day=end.astimezone(zone).date()
        ),
        "duration": timedelta(minutes=protocol.booked_minutes),
        "chair_ids": chair_ids,
        "bookings": _live_bookings(clinic=clinic, start=start, end=end),
    }


def availability(
    *, clinic: Clinic, protocol: Protocol, day: date, now: datetime, patient_id: int | None = None
) -> list[Slot]:
    """Free starts on the day for the protocol's whole booking (given a patient, only those
    that keep their spacing), in a constant number of queries whatever the number of chairs or
    bookings: the clinic's chairs, its closures, the day's live sessions (and the patient's)."""
    start, end = local_day_bounds(clinic.zone, day)
    capacity = _capacity(clinic=clinic, protocol=protocol, start=start, end=end)
    spacing = (
        None
        if patient_id is None
        else patient_spacing(patient_id=patient_id, clinic=clinic, start=start, end=end)
    )
    return free_slots(day=day, not_before=now, patient=spacing, **capacity)


def nurses_for_slots(
    *, clinic: Clinic, slots: Sequence[Slot]
) -> dict[tuple[datetime, datetime], list[int]]:
    """For each distinct [start, end) among `slots`, the clinic's active nurses who could take
    a patient then without passing the clinic's concurrent-patient limit (what booking with a
    nurse checks), so a listed slot is not then refused for the nurse. Two queries."""
    if not slots:
        return {}
    nurse_ids = list(
        User.objects.filter(clinics=clinic, role=Role.NURSE, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    start = min(slot.starts_at for slot in slots)
    end = max(slot.ends_at for slot in slots)
    bookings = list(
        live_sessions_overlapping(start, end)
        .filter(nurse_id__in=nurse_ids)
        .values_list("nurse_id", "starts_at", "ends_at")
    )
    limit = clinic.nurse_concurrent_patient_limit
    return {
        (slot.starts_at, slot.ends_at): nurses_free(
            slot, nurse_ids=nurse_ids, nurse_bookings=bookings, limit=limit
        )
        for slot in {(s.starts_at, s.ends_at): s for s in slots}.values()
    }


@dataclass(frozen=True)
class OfferedSlot:
    """A free start as the availability list shows it: its chair's name, its start on the
    clinic's clock, and the clinic's nurses who could take a patient then."""

    slot: Slot
    chair_name: str
    local_start: datetime
    nurse_ids: list[int]


def availability_read(
    *,
    user: User,
    clinic_id: int,
    protocol_id: int,
    day: date,
    now: datetime,
    patient_id: int | None = None,
) -> list[OfferedSlot]:
    """The free starts of `availability` for a clinic, protocol and (optionally) patient of the
    caller's: one outside their scope is NotFound, a protocol or patient of another of their
    clinics Invalid. A constant number of queries: those of availability, nurses_for_slots (2)
    and the chairs' names (1)."""
    clinic = clinic_get(user=user, clinic_id=clinic_id)
    protocol = protocol_get(user=user, protocol_id=protocol_id)
    if not protocol_offered_by(protocol=protocol, clinic=clinic):
        raise Invalid.field("protocol", "This protocol belongs to another clinic.")
    if patient_id is not None:
        patient = patient_get(user=user, patient_id=patient_id)
        if patient.clinic_id != clinic.pk:
            raise Invalid.field("patient", "This patient belongs to another clinic.")
    slots = availability(clinic=clinic, protocol=protocol, day=day, now=now, patient_id=patient_id)
    nurses = nurses_for_slots(clinic=clinic, slots=slots)
    chair_names = dict(Chair.objects.filter(clinic=clinic).values_list("pk", "name"))
    zone = clinic.zone
    return [
        OfferedSlot(
            slot=slot,
            chair_name=chair_names[slot.chair_id],
            local_start=slot.starts_at.astimezone(zone),
            nurse_ids=nurses[(slot.starts_at, slot.ends_at)],
        )
        for slot in slots
    ]


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
    capacity = _capacity(clinic=clinic, protocol=protocol, start=start, end=end)
    spacing = patient_spacing(patient_id=patient_id, clinic=clinic, start=start, end=end)
    return suggest_series(
        first_day=first_day,
        count=count,
        within_days=within_days,
        preferred_time=preferred_time,
        patient_busy=spacing.busy,
        min_gap=spacing.min_gap,
        not_before=now,
        **capacity,
    )
