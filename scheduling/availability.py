"""Slot computation for infusion chairs: which starts fit a clinic's hours and its free chairs,
and where an induction series could go.

Pure functions over plain data (no Django), so the rules can be tested without a database.
Clinic hours are local wall-clock times; every duration is absolute (an 85-minute booking is
85 real minutes, also on daylight-saving days). All arithmetic and every comparison is done in
UTC: aware datetimes that share a ZoneInfo compare and add by wall clock, ignoring `fold`, which
goes wrong in the repeated hour of a fall-back day.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

# API.md: availability is offered on a 15-minute grid (:00, :15, :30, :45 local time).
DEFAULT_GRID_MINUTES = 15
MINUTES_PER_HOUR = 60


@dataclass(frozen=True)
class Booking:
    """An existing live booking that holds a chair for [starts_at, ends_at)."""

    chair_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Slot:
    """A free start on one chair; both instants in UTC."""

    starts_at: datetime
    ends_at: datetime
    chair_id: int


@dataclass(frozen=True)
class ClinicHours:
    tz: ZoneInfo
    opening_time: time
    closing_time: time
    open_weekdays: frozenset[int]  # Monday = 0
    # Closures by local date: None closes the whole day, (opens, closes) shortens it.
    closures: Mapping[date, tuple[time, time] | None] = field(default_factory=dict)

    def hours_on(self, day: date) -> tuple[time, time] | None:
        """The day's opening and closing times, or None when the clinic is closed all day."""
        if day.weekday() not in self.open_weekdays:
            return None
        if day in self.closures:
            return self.closures[day]
        return self.opening_time, self.closing_time


@dataclass(frozen=True)
class PatientSpacing:
    """A patient's other live bookings, and how far apart their starts must be (CLINICAL.md
    "Spacing": at least `min_gap`, 24 hours by default)."""

    busy: Sequence[tuple[datetime, datetime]] = ()
    min_gap: timedelta = timedelta(0)

    def allows(self, starts_at: datetime, ends_at: datetime) -> bool:
        return not any(
            (other_start < ends_at and starts_at < other_end)
            or abs(starts_at - other_start) < self.min_gap
            for other_start, other_end in self.busy
        )

    def with_booking(self, starts_at: datetime, ends_at: datetime) -> PatientSpacing:
        return PatientSpacing([*self.busy, (starts_at, ends_at)], self.min_gap)


def _require_aware(moment: datetime, name: str) -> None:
    # A naive datetime would be read as the server's local time by astimezone(): a silent bug.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")


def _utc_or_none(moment: datetime | None, name: str) -> datetime | None:
    if moment is None:
        return None
    _require_aware(moment, name)
    return moment.astimezone(UTC)


class _Intervals:
    """Half-open intervals, indexed so that an overlap query costs O(log n)."""

    __slots__ = ("_latest_end_through", "_starts")

    def __init__(self, intervals: Iterable[tuple[datetime, datetime]]) -> None:
        in_utc = (
            (starts_at.astimezone(UTC), ends_at.astimezone(UTC)) for starts_at, ends_at in intervals
        )
        # An empty interval holds nothing.
        ordered = sorted(
            (starts_at, ends_at) for starts_at, ends_at in in_utc if starts_at < ends_at
        )
        self._starts = [starts_at for starts_at, _ in ordered]
        # The latest end among the first k intervals: intervals may nest or overlap.
        self._latest_end_through = list(accumulate((ends_at for _, ends_at in ordered), max))

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        starting_before_end = bisect_left(self._starts, ends_at)
        return (
            starting_before_end > 0
            and self._latest_end_through[starting_before_end - 1] > starts_at
        )


def _checked_intervals(intervals: Iterable[tuple[datetime, datetime]], name: str) -> _Intervals:
    checked: list[tuple[datetime, datetime]] = []
    for starts_at, ends_at in intervals:
        _require_aware(starts_at, f"{name} start")
        _require_aware(ends_at, f"{name} end")
        checked.append((starts_at, ends_at))
    return _Intervals(checked)


def _chair_calendars(
    chair_ids: Sequence[int], bookings: Iterable[Booking]
) -> dict[int, _Intervals]:
    """Each chair's bookings, grouped once; bookings of other chairs are ignored."""
    by_chair: dict[int, list[tuple[datetime, datetime]]] = {chair_id: [] for chair_id in chair_ids}
    for booking in bookings:
        if booking.chair_id in by_chair:
            by_chair[booking.chair_id].append((booking.starts_at, booking.ends_at))
    return {chair_id: _checked_intervals(held, "booking") for chair_id, held in by_chair.items()}


def fits_clinic_hours(hours: ClinicHours, starts_at: datetime, ends_at: datetime) -> bool:
    """Whether [starts_at, ends_at) lies within opening hours of one open local day."""
    _require_aware(starts_at, "starts_at")
    _require_aware(ends_at, "ends_at")
    if starts_at.astimezone(UTC) >= ends_at.astimezone(UTC):
        return False
    local_start = starts_at.astimezone(hours.tz)
    local_end = ends_at.astimezone(hours.tz)
    day_hours = hours.hours_on(local_start.date())
    if day_hours is None:
        return False
    opening_time, closing_time = day_hours
    return (
        local_start.time() >= opening_time
        and local_end.date() == local_start.date()
        and local_end.time() <= closing_time
    )


def closed_for(hours: ClinicHours, starts_at: datetime, ends_at: datetime) -> bool:
    """Whether a closure (not the usual hours) is what keeps [starts_at, ends_at) out."""
    day = starts_at.astimezone(hours.tz).date()
    if day not in hours.closures:
        return False
    usual = ClinicHours(hours.tz, hours.opening_time, hours.closing_time, hours.open_weekdays)
    return fits_clinic_hours(usual, starts_at, ends_at) and not fits_clinic_hours(
        hours, starts_at, ends_at
    )


def local_day_bounds(tz: ZoneInfo, day: date) -> tuple[datetime, datetime]:
    """The instants at which `day` begins and ends in zone `tz` (23 or 25 hours apart on
    daylight-saving days)."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return start, end


def _local_grid_starts(day: date, hours: ClinicHours, grid_minutes: int) -> list[datetime]:
    """The day's wall-clock grid from opening, as UTC instants, skipping local times that do
    not exist (spring-forward gap); an ambiguous local time (fall-back) is taken at fold=0."""
    starts: list[datetime] = []
    day_hours = hours.hours_on(day)
    if day_hours is None:
        return starts
    opening_time, closing_time = day_hours
    for hour in range(opening_time.hour, closing_time.hour + 1):
        for minute in range(0, MINUTES_PER_HOUR, grid_minutes):
            wall_clock = time(hour, minute)
            if not opening_time <= wall_clock < closing_time:
                continue
            local = datetime.combine(day, wall_clock, tzinfo=hours.tz)
            instant = local.astimezone(UTC)
            if instant.astimezone(hours.tz).replace(tzinfo=None) != local.replace(tzinfo=None):
                continue  # in the spring-forward gap: this wall-clock time never happens
            starts.append(instant)
    return starts


def _check_grid_and_duration(duration: timedelta, grid_minutes: int) -> None:
    if duration <= timedelta(0):
        raise ValueError(f"duration must be positive, got {duration}")
    if not 1 <= grid_minutes <= MINUTES_PER_HOUR:
        raise ValueError(f"grid_minutes must be 1 to {MINUTES_PER_HOUR}, got {grid_minutes}")


def _free_slots_on(
    *,
    day: date,
    hours: ClinicHours,
    duration: timedelta,
    calendars: dict[int, _Intervals],
    not_before: datetime | None,
    grid_minutes: int,
    patient: PatientSpacing,
) -> list[Slot]:
    slots: list[Slot] = []
    for starts_at in _local_grid_starts(day, hours, grid_minutes):
        if not_before is not None and starts_at < not_before:
            continue
        ends_at = starts_at + duration  # in UTC, so real minutes even across a DST change
        if not fits_clinic_hours(hours, starts_at, ends_at) or not patient.allows(
            starts_at, ends_at
        ):
            continue
        slots.extend(
            Slot(starts_at=starts_at, ends_at=ends_at, chair_id=chair_id)
            for chair_id, calendar in calendars.items()
            if not calendar.overlaps(starts_at, ends_at)
        )
    slots.sort(key=lambda slot: (slot.starts_at, slot.chair_id))
    return slots


def free_slots(
    *,
    day: date,
    hours: ClinicHours,
    duration: timedelta,
    chair_ids: Sequence[int],
    bookings: Iterable[Booking],
    not_before: datetime | None = None,
    grid_minutes: int = DEFAULT_GRID_MINUTES,
    patient: PatientSpacing | None = None,
) -> list[Slot]:
    """Every (start, chair) on `day` at which a booking of `duration` fits clinic hours (and
    closures), overlaps no booking of that chair and, given a patient, keeps their spacing;
    sorted by (starts_at, chair_id), in UTC.

    Starts are the local wall-clock minutes that are multiples of `grid_minutes` past the hour,
    at or after opening and not before `not_before`.
    """
    _check_grid_and_duration(duration, grid_minutes)
    return _free_slots_on(
        day=day,
        hours=hours,
        duration=duration,
        calendars=_chair_calendars(chair_ids, bookings),
        not_before=_utc_or_none(not_before, "not_before"),
        grid_minutes=grid_minutes,
        patient=patient or PatientSpacing(),
    )


def _since_midnight(wall_clock: time) -> timedelta:
    return timedelta(
        hours=wall_clock.hour,
        minutes=wall_clock.minute,
        seconds=wall_clock.second,
        microseconds=wall_clock.microsecond,
    )


def _target_day_offset(index: int, count: int, within_days: int) -> int:
    # round(index * within_days / count), halves rounded up: exact in integers, and without
    # Python's round-half-to-even, which would space a series unevenly (6 in 21 days: days
    # 0, 4, 7, 11, 14, 18, not 0, 4, 7, 10, 14, 18).
    return (2 * index * within_days + count) // (2 * count)


def suggest_series(
    *,
    first_day: date,
    count: int,
    within_days: int,
    preferred_time: time,
    hours: ClinicHours,
    duration: timedelta,
    chair_ids: Sequence[int],
    bookings: Iterable[Booking],
    patient_busy: Iterable[tuple[datetime, datetime]] = (),
    min_gap: timedelta = timedelta(0),
    not_before: datetime | None = None,
    grid_minutes: int = DEFAULT_GRID_MINUTES,
) -> list[Slot]:
    """Propose `count` infusions spread evenly over [first_day, first_day + within_days), at
    most one a day, each as close to `preferred_time` (local) as the day allows, none
    overlapping the patient's other bookings or starting within `min_gap` of one.

    Returns the slots found in order: fewer than `count` when the window cannot hold them.
    """
    _check_grid_and_duration(duration, grid_minutes)
    if count <= 0 or within_days <= 0:
        return []
    starts_no_earlier = _utc_or_none(not_before, "not_before")
    calendars = _chair_calendars(chair_ids, bookings)
    busy = [(starts_at, ends_at) for starts_at, ends_at in patient_busy]
    _checked_intervals(busy, "patient_busy")  # aware instants only
    patient = PatientSpacing([(a.astimezone(UTC), b.astimezone(UTC)) for a, b in busy], min_gap)
    preferred = _since_midnight(preferred_time)
    last_day = first_day + timedelta(days=within_days - 1)

    def distance_from_preferred(slot: Slot) -> tuple[timedelta, datetime, int]:
        # Wall-clock distance, ties to the earlier start, then to the lowest chair.
        local_start = slot.starts_at.astimezone(hours.tz).time()
        return abs(_since_midnight(local_start) - preferred), slot.starts_at, slot.chair_id

    chosen: list[Slot] = []
    earliest_day = first_day
    for index in range(count):
        target_day = first_day + timedelta(days=_target_day_offset(index, count, within_days))
        day = max(target_day, earliest_day)
        pick: Slot | None = None
        while day <= last_day and pick is None:
            free = _free_slots_on(
                day=day,
                hours=hours,
                duration=duration,
                calendars=calendars,
                not_before=starts_no_earlier,
                grid_minutes=grid_minutes,
                patient=patient,
            )
            if free:
                pick = min(free, key=distance_from_preferred)
            else:
                day += timedelta(days=1)
        if pick is None:
            # Later picks would search a subset of these days with the same bookings.
            break
        chosen.append(pick)
        # The patient is now busy then too.
        patient = patient.with_booking(pick.starts_at, pick.ends_at)
        earliest_day = day + timedelta(days=1)
    return chosen


def nurses_free(
    slot: Slot,
    *,
    nurse_ids: Sequence[int],
    nurse_bookings: Iterable[tuple[int, datetime, datetime]],
    limit: int,
) -> list[int]:
    """The nurses who could take `slot`: fewer than `limit` of their patients' sessions overlap
    it (the clinic's concurrent-patient limit, the same count booking checks)."""
    busy = dict.fromkeys(nurse_ids, 0)
    for nurse_id, starts_at, ends_at in nurse_bookings:
        if nurse_id in busy and starts_at < slot.ends_at and slot.starts_at < ends_at:
            busy[nurse_id] += 1
    return [nurse_id for nurse_id in nurse_ids if busy[nurse_id] < limit]
