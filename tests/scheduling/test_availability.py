"""Slot computation (scheduling.availability): clinic hours, free slots and series suggestions.

Pure rules over plain data: no database. Times are local to America/New_York unless a test says
otherwise; 2026 has its spring-forward day on Sunday 8 March and its fall-back day on Sunday
1 November.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.apis import SlotOutputSerializer, slot_json
from scheduling.availability import (
    Booking,
    ClinicHours,
    Slot,
    fits_clinic_hours,
    free_slots,
    suggest_series,
)

NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
# The default protocol: 15 prep + 40 infusion + 30 recovery.
BOOKED = timedelta(minutes=85)

MONDAY = date(2026, 6, 15)
FRIDAY = date(2026, 6, 19)
SATURDAY = date(2026, 6, 20)
SUNDAY = date(2026, 6, 21)
SPRING_FORWARD = date(2026, 3, 8)
FALL_BACK = date(2026, 11, 1)

EDT = timedelta(hours=-4)
EST = timedelta(hours=-5)


def clinic(
    opening: str = "08:00", closing: str = "18:00", weekdays: frozenset[int] = WEEKDAYS
) -> ClinicHours:
    return ClinicHours(
        tz=NEW_YORK,
        opening_time=time.fromisoformat(opening),
        closing_time=time.fromisoformat(closing),
        open_weekdays=weekdays,
    )


def at(day: date, wall_clock: str, fold: int = 0) -> datetime:
    """An aware New York datetime."""
    return datetime.combine(day, time.fromisoformat(wall_clock), tzinfo=NEW_YORK).replace(fold=fold)


def utc(day: date, wall_clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(wall_clock), tzinfo=UTC)


def local(moment: datetime) -> str:
    return moment.astimezone(NEW_YORK).strftime("%H:%M")


def starts(slots: list[Slot], chair_id: int | None = None) -> list[str]:
    return [local(slot.starts_at) for slot in slots if chair_id in (None, slot.chair_id)]


def book(chair_id: int, day: date, start: str, end: str) -> Booking:
    return Booking(chair_id=chair_id, starts_at=at(day, start), ends_at=at(day, end))


def grid(first: str, last: str, step_minutes: int = 15) -> list[str]:
    """Wall-clock times from first to last inclusive (no DST inside)."""
    moment = datetime.combine(MONDAY, time.fromisoformat(first), tzinfo=UTC)
    end = datetime.combine(MONDAY, time.fromisoformat(last), tzinfo=UTC)
    times = []
    while moment <= end:
        times.append(moment.strftime("%H:%M"))
        moment += timedelta(minutes=step_minutes)
    return times


# fits_clinic_hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "fits"),
    [
        pytest.param(at(MONDAY, "08:00"), at(MONDAY, "09:25"), True, id="starts-at-opening"),
        pytest.param(at(MONDAY, "07:59"), at(MONDAY, "09:24"), False, id="a-minute-before-opening"),
        pytest.param(at(MONDAY, "16:35"), at(MONDAY, "18:00"), True, id="ends-at-closing"),
        pytest.param(at(MONDAY, "16:36"), at(MONDAY, "18:01"), False, id="a-minute-after-closing"),
        pytest.param(at(MONDAY, "18:00"), at(MONDAY, "18:30"), False, id="starts-at-closing"),
        pytest.param(at(MONDAY, "12:00"), at(MONDAY, "12:00"), False, id="empty"),
        pytest.param(at(MONDAY, "12:00"), at(MONDAY, "11:00"), False, id="ends-before-start"),
        pytest.param(
            at(MONDAY, "17:00"), at(MONDAY, "17:00") + timedelta(days=1), False, id="overnight"
        ),
        pytest.param(at(FRIDAY, "10:00"), at(FRIDAY, "11:25"), True, id="friday"),
        pytest.param(at(SATURDAY, "10:00"), at(SATURDAY, "11:25"), False, id="closed-saturday"),
        pytest.param(at(SUNDAY, "10:00"), at(SUNDAY, "11:25"), False, id="closed-sunday"),
        # 12:00Z is 08:00 in New York in June (EDT), 07:00 in January (EST).
        pytest.param(utc(MONDAY, "12:00"), utc(MONDAY, "13:25"), True, id="utc-summer-opening"),
        pytest.param(
            utc(date(2026, 1, 12), "12:00"),
            utc(date(2026, 1, 12), "13:25"),
            False,
            id="utc-winter-before-opening",
        ),
        pytest.param(
            utc(date(2026, 1, 12), "13:00"),
            utc(date(2026, 1, 12), "14:25"),
            True,
            id="utc-winter-opening",
        ),
        # 20:36Z-22:01Z is 16:36-18:01 EDT.
        pytest.param(utc(MONDAY, "20:36"), utc(MONDAY, "22:01"), False, id="utc-after-closing"),
    ],
)
def test_fits_clinic_hours(starts_at: datetime, ends_at: datetime, fits: bool) -> None:
    assert fits_clinic_hours(clinic(), starts_at, ends_at) is fits


NIGHT = clinic("00:00", "06:00", EVERY_DAY)


@pytest.mark.parametrize(
    ("starts_at", "real_minutes", "fits"),
    [
        # 01:30 EST + 85 real minutes = 03:55 EDT: the clock jumped an hour.
        pytest.param(at(SPRING_FORWARD, "01:30"), 85, True, id="spring-across-gap"),
        # 04:00 EDT + 120 minutes = 06:00 EDT exactly.
        pytest.param(at(SPRING_FORWARD, "04:00"), 120, True, id="spring-ends-at-closing"),
        pytest.param(at(SPRING_FORWARD, "04:00"), 121, False, id="spring-past-closing"),
        # 00:00 EST + 300 real minutes = 06:00 EDT: five real hours fit a six-hour wall clock.
        pytest.param(at(SPRING_FORWARD, "00:00"), 300, True, id="spring-whole-short-night"),
        pytest.param(at(SPRING_FORWARD, "00:00"), 301, False, id="spring-short-night-plus-one"),
        # 01:30 EDT (first) + 85 real minutes = 01:55 EST (second time round).
        pytest.param(at(FALL_BACK, "01:30"), 85, True, id="fall-back-into-repeat"),
        # 00:00 EDT + 420 real minutes = 06:00 EST: seven real hours in a six-hour wall clock.
        pytest.param(at(FALL_BACK, "00:00"), 420, True, id="fall-whole-long-night"),
        pytest.param(at(FALL_BACK, "00:00"), 421, False, id="fall-long-night-plus-one"),
    ],
)
def test_fits_clinic_hours_across_daylight_saving(
    starts_at: datetime, real_minutes: int, fits: bool
) -> None:
    ends_at = starts_at.astimezone(UTC) + timedelta(minutes=real_minutes)
    assert fits_clinic_hours(NIGHT, starts_at, ends_at) is fits


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        (datetime(2026, 6, 15, 9, 0), at(MONDAY, "10:00")),  # noqa: DTZ001 - naive on purpose
        (at(MONDAY, "09:00"), datetime(2026, 6, 15, 10, 0)),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_naive_datetimes_are_refused(starts_at: datetime, ends_at: datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fits_clinic_hours(clinic(), starts_at, ends_at)


# free_slots ------------------------------------------------------------------------------------


def slots_on(day: date = MONDAY, hours: ClinicHours | None = None, **kwargs: Any) -> list[Slot]:
    arguments: dict[str, Any] = {
        "day": day,
        "hours": hours or clinic(),
        "duration": BOOKED,
        "chair_ids": [1],
        "bookings": [],
    }
    arguments.update(kwargs)
    return free_slots(**arguments)


def test_an_empty_day_offers_every_grid_start_from_opening_that_ends_by_closing() -> None:
    slots = slots_on()
    # 16:30 + 85 minutes = 17:55; 16:45 would end at 18:10.
    assert starts(slots) == grid("08:00", "16:30")
    assert slots[0].starts_at == utc(MONDAY, "12:00")  # 08:00 EDT
    assert all(slot.starts_at.tzinfo is UTC and slot.ends_at.tzinfo is UTC for slot in slots)
    assert all(slot.ends_at - slot.starts_at == BOOKED for slot in slots)


@pytest.mark.parametrize(
    ("opening", "closing", "duration_minutes", "first", "last"),
    [
        pytest.param("08:00", "18:00", 90, "08:00", "16:30", id="last-ends-exactly-at-closing"),
        pytest.param("08:00", "18:00", 91, "08:00", "16:15", id="a-minute-too-long"),
        pytest.param("08:00", "18:00", 600, "08:00", "08:00", id="whole-day"),
        pytest.param("08:10", "18:00", 60, "08:15", "17:00", id="opening-off-grid"),
        pytest.param("08:15", "18:00", 60, "08:15", "17:00", id="opening-on-grid"),
        pytest.param("08:00", "17:50", 60, "08:00", "16:45", id="closing-off-grid"),
        pytest.param("07:00", "19:00", 15, "07:00", "18:45", id="one-grid-step"),
    ],
)
def test_opening_and_closing_edges(
    opening: str, closing: str, duration_minutes: int, first: str, last: str
) -> None:
    slots = slots_on(hours=clinic(opening, closing), duration=timedelta(minutes=duration_minutes))
    assert starts(slots) == grid(first, last)


@pytest.mark.parametrize(
    ("opening", "closing", "duration_minutes"),
    [
        pytest.param("08:00", "18:00", 601, id="longer-than-the-day"),
        pytest.param("08:10", "09:05", 51, id="no-grid-start-fits"),
    ],
)
def test_no_slot_when_nothing_fits(opening: str, closing: str, duration_minutes: int) -> None:
    duration = timedelta(minutes=duration_minutes)
    assert slots_on(hours=clinic(opening, closing), duration=duration) == []


@pytest.mark.parametrize(
    ("bookings", "free"),
    [
        pytest.param([], grid("08:00", "11:00"), id="no-bookings"),
        pytest.param(
            [("09:00", "10:00")], ["08:00", *grid("10:00", "11:00")], id="back-to-back-both-sides"
        ),
        pytest.param(
            [("08:59", "10:00")], grid("10:00", "11:00"), id="overlaps-by-a-minute-before"
        ),
        pytest.param(
            [("09:00", "10:01")],
            ["08:00", *grid("10:15", "11:00")],
            id="overlaps-by-a-minute-after",
        ),
        pytest.param(
            [("09:01", "09:59")], ["08:00", *grid("10:00", "11:00")], id="inside-one-slot"
        ),
        # An 85-minute booking at 09:00 ends at 10:25: 10:15 overlaps, 10:30 is free.
        pytest.param([("09:00", "10:25")], ["08:00", "10:30", "10:45", "11:00"], id="booked-85"),
        pytest.param([("09:00", "10:30")], ["08:00", *grid("10:30", "11:00")], id="ends-on-grid"),
        pytest.param(
            [("08:30", "09:00"), ("08:45", "10:30")], grid("10:30", "11:00"), id="overlapping"
        ),
        # The long booking ends last although the short one starts later.
        pytest.param([("08:00", "11:00"), ("09:00", "09:30")], ["11:00"], id="nested"),
        pytest.param([("08:00", "12:00")], [], id="fully-booked"),
        pytest.param([("10:00", "10:00")], grid("08:00", "11:00"), id="empty-booking"),
    ],
)
def test_bookings_block_their_chair_half_open(
    bookings: list[tuple[str, str]], free: list[str]
) -> None:
    slots = slots_on(
        hours=clinic("08:00", "12:00"),
        duration=timedelta(minutes=60),
        chair_ids=[1, 2],
        bookings=[book(1, MONDAY, start, end) for start, end in bookings],
    )
    assert starts(slots, chair_id=1) == free
    assert starts(slots, chair_id=2) == grid("08:00", "11:00")


def test_bookings_of_other_chairs_and_days_are_ignored() -> None:
    bookings = [
        book(9, MONDAY, "08:00", "18:00"),  # a chair not asked about
        book(1, date(2026, 6, 14), "08:00", "18:00"),
        book(1, date(2026, 6, 16), "08:00", "18:00"),
    ]
    assert starts(slots_on(bookings=bookings)) == grid("08:00", "16:30")


def test_bookings_may_be_given_in_any_zone_and_as_a_generator() -> None:
    # 13:00Z-14:25Z is 09:00-10:25 EDT.
    bookings = iter(
        [Booking(chair_id=1, starts_at=utc(MONDAY, "13:00"), ends_at=utc(MONDAY, "14:25"))]
    )
    slots = slots_on(
        hours=clinic("08:00", "12:00"), duration=timedelta(minutes=60), bookings=bookings
    )
    assert starts(slots) == ["08:00", "10:30", "10:45", "11:00"]


@pytest.mark.parametrize("day", [SATURDAY, SUNDAY])
def test_a_closed_weekday_has_no_slots(day: date) -> None:
    assert slots_on(day=day) == []


@pytest.mark.parametrize(
    ("not_before", "first"),
    [
        pytest.param(None, "08:00", id="none"),
        pytest.param(at(MONDAY, "07:00"), "08:00", id="before-opening"),
        pytest.param(at(MONDAY, "09:10"), "09:15", id="between-grid-steps"),
        pytest.param(at(MONDAY, "09:15"), "09:15", id="exactly-on-a-start"),
        pytest.param(at(MONDAY, "09:15") + timedelta(microseconds=1), "09:30", id="just-after"),
        pytest.param(utc(MONDAY, "13:10"), "09:15", id="given-in-utc"),
        pytest.param(at(date(2026, 6, 14), "23:00"), "08:00", id="day-before"),
    ],
)
def test_not_before(not_before: datetime | None, first: str) -> None:
    slots = slots_on(not_before=not_before)
    assert starts(slots)[0] == first
    assert starts(slots)[-1] == "16:30"


@pytest.mark.parametrize(
    "not_before",
    [at(MONDAY, "16:31"), at(date(2026, 6, 16), "06:00")],
)
def test_not_before_after_the_last_start_leaves_nothing(not_before: datetime) -> None:
    assert slots_on(not_before=not_before) == []


def test_several_chairs_are_ordered_by_start_then_chair() -> None:
    slots = slots_on(
        hours=clinic("08:00", "10:00"),
        duration=timedelta(minutes=60),
        chair_ids=[3, 1, 2],
        bookings=[book(1, MONDAY, "08:00", "08:30"), book(3, MONDAY, "08:45", "09:00")],
    )
    assert [(local(slot.starts_at), slot.chair_id) for slot in slots] == [
        ("08:00", 2),
        ("08:15", 2),
        ("08:30", 1),
        ("08:30", 2),
        ("08:45", 1),
        ("08:45", 2),
        ("09:00", 1),
        ("09:00", 2),
        ("09:00", 3),
    ]


@pytest.mark.parametrize(
    ("grid_minutes", "expected"),
    [
        (30, ["08:00", "08:30", "09:00"]),
        (60, ["08:00", "09:00"]),
        # Multiples of 25 past the hour: :00, :25, :50.
        (25, ["08:00", "08:25", "08:50", "09:00"]),
    ],
)
def test_grid_minutes(grid_minutes: int, expected: list[str]) -> None:
    slots = slots_on(
        hours=clinic("08:00", "10:00"), duration=timedelta(minutes=60), grid_minutes=grid_minutes
    )
    assert starts(slots) == expected


@pytest.mark.parametrize(
    "arguments",
    [
        {"duration": timedelta(0)},
        {"duration": timedelta(minutes=-5)},
        {"grid_minutes": 0},
        {"grid_minutes": 61},
        {"not_before": datetime(2026, 6, 15, 9, 0)},  # noqa: DTZ001 - naive on purpose
        {"bookings": [Booking(1, datetime(2026, 6, 15, 9), at(MONDAY, "10:00"))]},  # noqa: DTZ001
    ],
)
def test_invalid_arguments_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        slots_on(**arguments)


# Daylight saving ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "first_utc", "offset"),
    [
        pytest.param(date(2026, 3, 7), "13:00", EST, id="saturday-before-spring-forward"),
        pytest.param(SPRING_FORWARD, "12:00", EDT, id="spring-forward"),
        pytest.param(date(2026, 10, 31), "12:00", EDT, id="saturday-before-fall-back"),
        pytest.param(FALL_BACK, "13:00", EST, id="fall-back"),
    ],
)
def test_daytime_clinic_on_daylight_saving_days(
    day: date, first_utc: str, offset: timedelta
) -> None:
    slots = slots_on(day=day, hours=clinic(weekdays=EVERY_DAY))
    assert starts(slots) == grid("08:00", "16:30")
    assert slots[0].starts_at == utc(day, first_utc)
    assert {slot.starts_at.astimezone(NEW_YORK).utcoffset() for slot in slots} == {offset}
    assert all(slot.ends_at - slot.starts_at == BOOKED for slot in slots)


def test_night_clinic_on_spring_forward_skips_the_missing_hour() -> None:
    slots = slots_on(
        day=SPRING_FORWARD, hours=NIGHT, duration=timedelta(minutes=60), grid_minutes=30
    )
    # 02:00 and 02:30 do not exist; 01:30 EST + 60 real minutes ends at 03:30 EDT.
    assert starts(slots) == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "03:00",
        "03:30",
        "04:00",
        "04:30",
        "05:00",
    ]
    assert [slot.starts_at for slot in slots] == [
        utc(SPRING_FORWARD, wall_clock) for wall_clock in grid("05:00", "09:00", 30)
    ]
    assert [slot.starts_at.astimezone(NEW_YORK).utcoffset() for slot in slots] == [EST] * 4 + [
        EDT
    ] * 5
    assert local(slots[3].ends_at) == "03:30"
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=60) for slot in slots)


def test_night_clinic_on_fall_back_offers_the_repeated_hour_once() -> None:
    slots = slots_on(day=FALL_BACK, hours=NIGHT, duration=timedelta(minutes=60), grid_minutes=30)
    # 01:00 and 01:30 happen twice; only the first (EDT, fold=0) is offered.
    assert starts(slots) == grid("00:00", "05:00", 30)
    assert [slot.starts_at for slot in slots] == [
        utc(FALL_BACK, wall_clock)
        for wall_clock in ["04:00", "04:30", "05:00", "05:30", *grid("07:00", "10:00", 30)]
    ]
    assert [slot.starts_at.astimezone(NEW_YORK).utcoffset() for slot in slots] == [EDT] * 4 + [
        EST
    ] * 7
    # 01:30 EDT + 60 real minutes = 01:30 EST. (Compared in UTC: by PEP 495 a time in the fold
    # never equals a time in another zone.)
    assert slots[3].ends_at == at(FALL_BACK, "01:30", fold=1).astimezone(UTC)
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=60) for slot in slots)


@pytest.mark.parametrize(
    ("day", "duration_minutes", "last"),
    [
        # Five real hours between 00:00 EST and 06:00 EDT.
        (SPRING_FORWARD, 60, "05:00"),
        (SPRING_FORWARD, 85, "04:30"),
        (SPRING_FORWARD, 300, "00:00"),
        # Seven real hours between 00:00 EDT and 06:00 EST.
        (FALL_BACK, 85, "04:30"),
        (FALL_BACK, 420, "00:00"),
    ],
)
def test_night_clinic_closing_edge_with_absolute_durations(
    day: date, duration_minutes: int, last: str
) -> None:
    slots = slots_on(day=day, hours=NIGHT, duration=timedelta(minutes=duration_minutes))
    assert starts(slots)[-1] == last


@pytest.mark.parametrize(("day", "duration_minutes"), [(SPRING_FORWARD, 301), (FALL_BACK, 421)])
def test_night_clinic_a_minute_too_long(day: date, duration_minutes: int) -> None:
    assert slots_on(day=day, hours=NIGHT, duration=timedelta(minutes=duration_minutes)) == []


def test_a_booking_in_the_repeated_hour_blocks_by_real_time() -> None:
    # The chair is held 01:00-01:30 EST (the second 01:00): the first 01:00-01:30 stays free.
    second_time_round = Booking(
        chair_id=1,
        starts_at=at(FALL_BACK, "01:00", fold=1),
        ends_at=at(FALL_BACK, "01:30", fold=1),
    )
    slots = slots_on(
        day=FALL_BACK,
        hours=NIGHT,
        duration=timedelta(minutes=30),
        grid_minutes=30,
        bookings=[second_time_round],
    )
    # 01:30 EDT + 30 = 01:00 EST: back to back with the booking, so still free.
    assert starts(slots) == grid("00:00", "05:30", 30)
    # 00:30 EDT + 60 = 01:30 EDT; 01:00 EDT + 60 = 01:00 EST; 01:30 EDT + 60 overlaps.
    slots = slots_on(
        day=FALL_BACK,
        hours=NIGHT,
        duration=timedelta(minutes=60),
        grid_minutes=30,
        bookings=[second_time_round],
    )
    assert starts(slots) == ["00:00", "00:30", "01:00", *grid("02:00", "05:00", 30)]


# suggest_series ---------------------------------------------------------------------------------


def suggest(**kwargs: Any) -> list[Slot]:
    arguments: dict[str, Any] = {
        "first_day": MONDAY,
        "count": 6,
        "within_days": 21,
        "preferred_time": time(9, 30),
        "hours": clinic(),
        "duration": BOOKED,
        "chair_ids": [1, 2, 3],
        "bookings": [],
    }
    arguments.update(kwargs)
    return suggest_series(**arguments)


def picks(slots: list[Slot]) -> list[tuple[date, str, int]]:
    return [
        (slot.starts_at.astimezone(NEW_YORK).date(), local(slot.starts_at), slot.chair_id)
        for slot in slots
    ]


def days_after(first: date, *offsets: int) -> list[date]:
    return [first + timedelta(days=offset) for offset in offsets]


def test_six_in_three_weeks_spread_evenly_at_the_preferred_time() -> None:
    slots = suggest()
    # Targets 0, 3.5, 7, 10.5, 14, 17.5 days, halves rounded up: Mondays and Fridays.
    assert picks(slots) == [(day, "09:30", 1) for day in days_after(MONDAY, 0, 4, 7, 11, 14, 18)]
    assert all(slot.ends_at - slot.starts_at == BOOKED for slot in slots)


def test_three_in_a_working_week() -> None:
    # Targets 0, 2, 4 days: Monday, Wednesday, Friday.
    slots = suggest(count=3, within_days=6)
    assert [day for day, _, _ in picks(slots)] == days_after(MONDAY, 0, 2, 4)


def test_preferred_time_taken_on_one_chair_moves_to_another() -> None:
    slots = suggest(bookings=[book(1, MONDAY, "09:00", "10:25")])
    assert picks(slots)[0] == (MONDAY, "09:30", 2)
    assert picks(slots)[1] == (FRIDAY, "09:30", 1)


def test_preferred_time_taken_on_every_chair_moves_to_the_closest_time() -> None:
    slots = suggest(bookings=[book(chair, MONDAY, "09:00", "10:25") for chair in (1, 2, 3)])
    # Nothing before 09:00 fits (opening 08:00 + 85 > 09:00); 10:30 is an hour away.
    assert picks(slots)[0] == (MONDAY, "10:30", 1)


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [
        pytest.param(time(11, 0), "09:00", id="tie-goes-to-the-earlier"),
        pytest.param(time(11, 1), "13:00", id="a-minute-later-goes-after"),
        pytest.param(time(10, 59), "09:00", id="a-minute-earlier-goes-before"),
        pytest.param(time(6, 0), "08:00", id="before-opening"),
        pytest.param(time(23, 0), "17:00", id="after-closing"),
    ],
)
def test_closest_local_time_and_ties(preferred: time, expected: str) -> None:
    slots = suggest(
        count=1,
        preferred_time=preferred,
        duration=timedelta(minutes=60),
        chair_ids=[1],
        bookings=[book(1, MONDAY, "10:00", "13:00")],
    )
    assert picks(slots) == [(MONDAY, expected, 1)]


def test_a_full_day_moves_to_the_next_day() -> None:
    full_monday = [book(chair, MONDAY, "08:00", "18:00") for chair in (1, 2, 3)]
    slots = suggest(bookings=full_monday)
    # Monday is full, so Tuesday; the next target (Friday) is unaffected.
    assert [day for day, _, _ in picks(slots)] == days_after(MONDAY, 1, 4, 7, 11, 14, 18)


def test_a_full_target_day_never_doubles_up_with_the_next() -> None:
    # Friday is full: the second infusion moves to Saturday, closed, Sunday, closed, then Monday,
    # which is also the third target: the third moves to Tuesday.
    full_friday = [book(chair, FRIDAY, "08:00", "18:00") for chair in (1, 2, 3)]
    days = [day for day, _, _ in picks(suggest(bookings=full_friday))]
    assert days == days_after(MONDAY, 0, 7, 8, 11, 14, 18)
    assert len(set(days)) == len(days)


def test_weekends_are_skipped() -> None:
    # From a Saturday, targets 0, 3 and 6 days: Saturday (-> Monday), Tuesday, Friday.
    saturday_start = suggest(first_day=SATURDAY, count=3, within_days=9)
    assert [day for day, _, _ in picks(saturday_start)] == days_after(SATURDAY, 2, 3, 6)


@pytest.mark.parametrize(
    ("first_day", "count", "within_days", "days"),
    [
        # Targets 0, 0.5, 1, 1.5, 2, 2.5: Mon, Tue, Tue -> Wed, then nothing after Wednesday.
        pytest.param(MONDAY, 6, 3, days_after(MONDAY, 0, 1, 2), id="more-than-days"),
        pytest.param(FRIDAY, 2, 3, [FRIDAY], id="only-a-friday-open"),
        pytest.param(SATURDAY, 2, 2, [], id="only-a-weekend"),
        pytest.param(MONDAY, 0, 21, [], id="none-asked"),
        pytest.param(MONDAY, 3, 0, [], id="empty-window"),
    ],
)
def test_fewer_when_the_window_cannot_hold_them(
    first_day: date, count: int, within_days: int, days: list[date]
) -> None:
    slots = suggest(first_day=first_day, count=count, within_days=within_days)
    assert [day for day, _, _ in picks(slots)] == days


def test_a_full_last_day_leaves_the_series_short() -> None:
    last_friday = MONDAY + timedelta(days=18)
    full = [book(chair, last_friday, "08:00", "18:00") for chair in (1, 2, 3)]
    # The sixth target is the last Friday; Saturday and Sunday are closed and the window ends.
    assert len(suggest(bookings=full)) == 5


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        pytest.param(
            [(at(MONDAY, "09:00"), at(MONDAY, "10:00"))],
            (MONDAY, "10:00", 1),
            id="busy-at-the-preferred-time",
        ),
        pytest.param(
            [(at(MONDAY, "10:55"), at(MONDAY, "12:00"))],
            (MONDAY, "09:30", 1),
            id="busy-after-back-to-back",
        ),
        pytest.param(
            [(at(MONDAY, "10:54"), at(MONDAY, "12:00"))],
            (MONDAY, "09:15", 1),
            id="busy-a-minute-into-the-slot",
        ),
        pytest.param(
            [(utc(MONDAY, "12:00"), utc(MONDAY, "22:00"))],
            (date(2026, 6, 16), "09:30", 1),
            id="busy-all-day-in-utc",
        ),
    ],
)
def test_patient_busy_is_respected(
    busy: list[tuple[datetime, datetime]], expected: tuple[date, str, int]
) -> None:
    assert picks(suggest(patient_busy=busy))[0] == expected


def test_patient_busy_may_be_a_generator() -> None:
    busy = ((at(day, "08:00"), at(day, "18:00")) for day in days_after(MONDAY, 0, 4))
    days = [day for day, _, _ in picks(suggest(patient_busy=busy))]
    # Monday -> Tuesday; Friday -> (weekend) Monday, which pushes the third to Tuesday.
    assert days == days_after(MONDAY, 1, 7, 8, 11, 14, 18)


def test_not_before_applies_to_the_series() -> None:
    slots = suggest(not_before=at(MONDAY, "12:05"))
    assert picks(slots)[0] == (MONDAY, "12:15", 1)
    assert picks(slots)[1] == (FRIDAY, "09:30", 1)


def test_the_preferred_local_time_holds_across_a_clock_change() -> None:
    # Monday 2 March is EST, Monday 9 March EDT: 09:30 local both times.
    slots = suggest(first_day=date(2026, 3, 2), count=2, within_days=14)
    assert [slot.starts_at for slot in slots] == [
        utc(date(2026, 3, 2), "14:30"),
        utc(date(2026, 3, 9), "13:30"),
    ]


# Speed -------------------------------------------------------------------------------------------


# Properties ------------------------------------------------------------------------------------

PROPERTY_DAYS = [
    MONDAY,
    SATURDAY,
    SPRING_FORWARD,
    FALL_BACK,
    date(2026, 3, 9),
    date(2026, 11, 2),
    date(2026, 1, 12),
]


@st.composite
def clinic_hours(draw: st.DrawFn) -> ClinicHours:
    opening_minutes = draw(st.integers(0, 20 * 60))
    closing_minutes = draw(st.integers(opening_minutes + 1, 24 * 60 - 1))
    weekdays = draw(st.frozensets(st.integers(0, 6)))
    return ClinicHours(
        tz=NEW_YORK,
        opening_time=time(*divmod(opening_minutes, 60)),
        closing_time=time(*divmod(closing_minutes, 60)),
        open_weekdays=weekdays,
    )


@st.composite
def bookings_on(draw: st.DrawFn, day: date) -> list[Booking]:
    # Offsets in real minutes from local midnight, so bookings land anywhere, DST days included.
    midnight = datetime.combine(day, time(0), tzinfo=NEW_YORK).astimezone(UTC)
    held = draw(
        st.lists(
            st.tuples(st.integers(1, 4), st.integers(-120, 26 * 60), st.integers(0, 300)),
            max_size=12,
        )
    )
    return [
        Booking(
            chair_id=chair_id,
            starts_at=(midnight + timedelta(minutes=offset)).astimezone(NEW_YORK),
            ends_at=(midnight + timedelta(minutes=offset + length)).astimezone(NEW_YORK),
        )
        for chair_id, offset, length in held
    ]


@st.composite
def availability_questions(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(st.sampled_from(PROPERTY_DAYS))
    midnight = datetime.combine(day, time(0), tzinfo=NEW_YORK).astimezone(UTC)
    not_before = draw(
        st.none()
        | st.integers(-60, 25 * 60).map(lambda minutes: midnight + timedelta(minutes=minutes))
    )
    return {
        "day": day,
        "hours": draw(clinic_hours()),
        "duration": timedelta(minutes=draw(st.integers(1, 8 * 60))),
        "chair_ids": draw(st.lists(st.integers(1, 4), min_size=1, max_size=4, unique=True)),
        "bookings": draw(bookings_on(day)),
        "not_before": not_before,
        "grid_minutes": draw(st.sampled_from([5, 10, 15, 20, 30, 60])),
    }


def overlaps(slot: Slot, booking: Booking) -> bool:
    # Half-open: an empty booking holds no instant.
    return (
        booking.starts_at < booking.ends_at
        and slot.starts_at < booking.ends_at
        and booking.starts_at < slot.ends_at
    )


def brute_force_free_slots(question: dict[str, Any]) -> list[Slot]:
    """The rule read literally: every wall-clock grid minute of the day, checked one by one."""
    day: date = question["day"]
    hours: ClinicHours = question["hours"]
    duration: timedelta = question["duration"]
    grid_minutes: int = question["grid_minutes"]
    not_before: datetime | None = question["not_before"]
    bookings: list[Booking] = question["bookings"]
    expected = []
    for minute_of_day in range(24 * 60):
        if minute_of_day % 60 % grid_minutes:
            continue
        local_start = datetime.combine(day, time(*divmod(minute_of_day, 60)), tzinfo=NEW_YORK)
        start = local_start.astimezone(UTC)
        if start.astimezone(NEW_YORK).time() != local_start.time():
            continue  # does not exist
        if local_start.time() < hours.opening_time or (not_before and start < not_before):
            continue
        if not fits_clinic_hours(hours, start, start + duration):
            continue
        for chair_id in sorted(question["chair_ids"]):
            slot = Slot(starts_at=start, ends_at=start + duration, chair_id=chair_id)
            if not any(b.chair_id == chair_id and overlaps(slot, b) for b in bookings):
                expected.append(slot)
    return expected


@settings(max_examples=200, deadline=None)
@given(availability_questions())
def test_property_free_slots(question: dict[str, Any]) -> None:
    slots = free_slots(**question)
    hours: ClinicHours = question["hours"]
    bookings: list[Booking] = question["bookings"]
    grid_minutes: int = question["grid_minutes"]
    not_before: datetime | None = question["not_before"]

    for slot in slots:
        assert not any(b.chair_id == slot.chair_id and overlaps(slot, b) for b in bookings)
        assert fits_clinic_hours(hours, slot.starts_at, slot.ends_at)
        local_start = slot.starts_at.astimezone(NEW_YORK)
        assert local_start.date() == question["day"]
        assert local_start.minute % grid_minutes == 0 and local_start.second == 0
        assert local_start.microsecond == 0 and local_start.fold == 0
        assert local_start.time() >= hours.opening_time
        assert slot.starts_at.tzinfo is UTC and slot.ends_at.tzinfo is UTC
        assert slot.ends_at - slot.starts_at == question["duration"]
        assert not_before is None or slot.starts_at >= not_before
    keys = [(slot.starts_at, slot.chair_id) for slot in slots]
    assert keys == sorted(set(keys))
    assert slots == brute_force_free_slots(question)


@settings(max_examples=200, deadline=None)
@given(
    question=availability_questions(),
    count=st.integers(1, 8),
    within_days=st.integers(1, 24),
    preferred_minutes=st.integers(0, 24 * 60 - 1),
    busy_hours=st.lists(st.tuples(st.integers(0, 24 * 21), st.integers(1, 30)), max_size=6),
)
def test_property_suggest_series(
    question: dict[str, Any],
    count: int,
    within_days: int,
    preferred_minutes: int,
    busy_hours: list[tuple[int, int]],
) -> None:
    first_day: date = question["day"]
    rest = {name: value for name, value in question.items() if name != "day"}
    midnight = datetime.combine(first_day, time(0), tzinfo=NEW_YORK).astimezone(UTC)
    patient_busy = [
        (midnight + timedelta(hours=start), midnight + timedelta(hours=start + length))
        for start, length in busy_hours
    ]
    slots = suggest_series(
        first_day=first_day,
        count=count,
        within_days=within_days,
        preferred_time=time(*divmod(preferred_minutes, 60)),
        patient_busy=patient_busy,
        **rest,
    )
    hours: ClinicHours = question["hours"]
    bookings: list[Booking] = question["bookings"]
    assert len(slots) <= count
    days = [slot.starts_at.astimezone(NEW_YORK).date() for slot in slots]
    assert days == sorted(set(days))
    assert all(first_day <= day < first_day + timedelta(days=within_days) for day in days)
    for slot in slots:
        assert fits_clinic_hours(hours, slot.starts_at, slot.ends_at)
        assert not any(b.chair_id == slot.chair_id and overlaps(slot, b) for b in bookings)
        assert not any(
            busy_start < slot.ends_at and slot.starts_at < busy_end
            for busy_start, busy_end in patient_busy
        )


@given(
    starts_at=st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]),
    ),
    minutes=st.integers(min_value=1, max_value=600),
    chair=st.integers(min_value=1, max_value=2**31),
)
@settings(max_examples=200, deadline=None)
def test_slot_json_writes_exactly_what_the_slot_serializer_would(starts_at, minutes, chair) -> None:
    slot = Slot(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes), chair_id=chair)
    assert slot_json(slot) == dict(SlotOutputSerializer(slot).data)
