"""Property tests for the pure domain modules: the vital-sign rules, questionnaire scoring and
slot computation. Each property is one a clinician or a scheduler would state in words; the
table-driven boundary tests and the properties already in tests/monitoring/test_rules.py,
tests/monitoring/test_instruments.py and tests/scheduling/test_availability.py are not
repeated here.

No database: these modules are plain functions over plain data.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.thresholds import DEFAULT_THRESHOLDS
from monitoring.instruments import INSTRUMENTS, PHQ9, AnswerError, response_and_remission
from monitoring.rules import (
    CONSCIOUSNESS_LEVELS,
    SEVERITY_CRITICAL,
    SEVERITY_WARNING,
    Flag,
    Reading,
    evaluate,
    news2_parameter_scores,
    news2_score,
    pre_start_gate_failures,
)
from scheduling.availability import Booking, ClinicHours, Slot, free_slots, suggest_series

PROPERTY = settings(max_examples=200, deadline=None)
SEVERITY_RANK = {None: 0, SEVERITY_WARNING: 1, SEVERITY_CRITICAL: 2}


# --- Vital-sign rules ----------------------------------------------------------------------------

# Plausible ranges (CLINICAL.md "Plausibility"), temperature in tenths of a degree, and the
# edges where a score or an alert changes (the alert tiers, the NEWS2 bands, the pre-start gate).
# Values are drawn anywhere in the range or within a few units of an edge: a uniform draw over
# 50-300 mmHg would seldom land where a rule changes its mind.
RANGES: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "systolic": (50, 300, (90, 100, 110, 140, 160, 180, 219)),
    "diastolic": (20, 200, (90, 100, 110)),
    "heart_rate": (20, 250, (40, 50, 90, 110, 130)),
    "spo2": (50, 100, (91, 93, 95)),
    "respiratory_rate": (4, 60, (8, 11, 20, 24)),
    "temperature_c": (300, 450, (350, 360, 380, 390)),
}


def values_of(field: str) -> st.SearchStrategy[Any]:
    low, high, edges = RANGES[field]
    near_an_edge = st.sampled_from(edges).flatmap(
        lambda edge: st.integers(max(low, edge - 3), min(high, edge + 4))
    )
    values = st.integers(low, high) | near_an_edge
    if field == "temperature_c":
        return values.map(lambda tenths: Decimal(tenths) / 10)
    return values


complete_readings = st.builds(
    Reading,
    **{field: values_of(field) for field in RANGES},
    consciousness=st.sampled_from(CONSCIOUSNESS_LEVELS),
    on_oxygen=st.booleans(),
)
readings = st.builds(
    Reading,
    **{field: st.none() | values_of(field) for field in RANGES},
    consciousness=st.none() | st.sampled_from(CONSCIOUSNESS_LEVELS),
    on_oxygen=st.booleans(),
)


def _severity_by_parameter(flags: list[Flag]) -> dict[str, str]:
    return {flag.parameter: flag.severity for flag in flags}


# Each way a parameter can leave normal (CLINICAL.md "Vital-sign alerts" and "NEWS2"): field, a
# value inside both the alert limits and the 0-scoring NEWS2 band, the plausible end in that
# direction. Systolic scores 3 again from 220, so it worsens both ways from the middle of
# 111-219; SpO2 can only fall; diastolic has no lower limit. Temperature in tenths.
DIRECTIONS = (
    ("respiratory_rate", 16, 60),
    ("respiratory_rate", 16, 4),
    ("spo2", 98, 50),
    ("systolic", 150, 300),
    ("systolic", 150, 50),
    ("diastolic", 80, 200),
    ("heart_rate", 70, 250),
    ("heart_rate", 70, 20),
    ("temperature_c", 370, 450),
    ("temperature_c", 370, 300),
)


def walk(field: str, normal: int, end: int) -> list[Any]:
    """Every plausible value from normal to the end, one unit (0.1 °C) at a time."""
    step = 1 if end > normal else -1
    values = range(normal, end + step, step)
    if field == "temperature_c":
        return [Decimal(tenths) / 10 for tenths in values]
    return list(values)


@PROPERTY
@given(direction=st.sampled_from(DIRECTIONS), reading=complete_readings, baseline=readings)
def test_walking_one_parameter_away_from_normal_never_lowers_news2_or_an_alert(
    direction: tuple[str, int, int], reading: Reading, baseline: Reading
) -> None:
    # Every other parameter held at any value. One unit at a time, so that each band edge is
    # crossed: the NEWS2 aggregate and each parameter's score only rise, and so does the
    # severity of every flag (the rise from baseline included, BP only rising here).
    field, normal, end = direction
    if field in ("systolic", "diastolic") and end < normal:
        baseline = replace(baseline, systolic=None, diastolic=None)  # a fall is no rise
    previous: tuple[dict[str, int], dict[str, str]] | None = None
    for value in walk(field, normal, end):
        moved = replace(reading, **{field: value})
        scores = news2_parameter_scores(moved)
        assert scores is not None
        flags = _severity_by_parameter(
            evaluate(moved, thresholds=DEFAULT_THRESHOLDS, baseline=baseline)
        )
        if previous is not None:
            previous_scores, previous_flags = previous
            assert sum(scores.values()) >= sum(previous_scores.values()), (field, value)
            assert all(scores[name] >= previous_scores[name] for name in scores), (field, value)
            for parameter, severity in previous_flags.items():
                assert SEVERITY_RANK[flags.get(parameter)] >= SEVERITY_RANK[severity], (
                    field,
                    value,
                    parameter,
                )
        previous = (scores, flags)


@PROPERTY
@given(reading=complete_readings, level=st.sampled_from(CONSCIOUSNESS_LEVELS[1:]))
def test_oxygen_and_a_lower_level_of_consciousness_never_lower_news2(
    reading: Reading, level: str
) -> None:
    on_air = news2_score(replace(reading, on_oxygen=False))
    on_oxygen = news2_score(replace(reading, on_oxygen=True))
    assert on_air is not None and on_oxygen == on_air + 2
    alert = news2_score(replace(reading, consciousness="alert"))
    assert alert is not None and news2_score(replace(reading, consciousness=level)) == alert + 3


@PROPERTY
@given(reading=complete_readings)
def test_the_news2_flag_follows_the_rcp_response_bands(reading: Reading) -> None:
    scores = news2_parameter_scores(reading)
    assert scores is not None
    total = sum(scores.values())
    flags = evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=None)
    news2 = [flag.severity for flag in flags if flag.parameter == "news2"]
    if total >= 7:
        assert news2 == [SEVERITY_CRITICAL]
    elif total >= 5 or 3 in scores.values():
        assert news2 == [SEVERITY_WARNING]
    else:
        assert news2 == []


@PROPERTY
@given(reading=readings, baseline=readings)
def test_a_baseline_changes_only_the_rise_from_baseline(
    reading: Reading, baseline: Reading
) -> None:
    with_baseline = evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=baseline)
    without = evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=None)
    assert [f for f in with_baseline if f.parameter != "baseline_rise"] == without


@PROPERTY
@given(
    reading=readings,
    baseline=readings,
    systolic_drop=st.integers(0, 100),
    diastolic_drop=st.integers(0, 100),
)
def test_a_lower_baseline_never_removes_the_rise_flag(
    reading: Reading, baseline: Reading, systolic_drop: int, diastolic_drop: int
) -> None:
    lower = replace(
        baseline,
        systolic=None if baseline.systolic is None else baseline.systolic - systolic_drop,
        diastolic=None if baseline.diastolic is None else baseline.diastolic - diastolic_drop,
    )

    def risen(base: Reading) -> bool:
        flags = evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=base)
        return any(flag.parameter == "baseline_rise" for flag in flags)

    assert risen(lower) or not risen(baseline)


@PROPERTY
@given(
    systolic=st.integers(50, 300),
    diastolic=st.integers(20, 200),
    systolic_rise=st.integers(0, 100),
    diastolic_rise=st.integers(0, 100),
)
def test_a_higher_baseline_pressure_never_passes_a_gate_a_lower_one_failed(
    systolic: int, diastolic: int, systolic_rise: int, diastolic_rise: int
) -> None:
    lower = pre_start_gate_failures(
        Reading(systolic=systolic, diastolic=diastolic), DEFAULT_THRESHOLDS
    )
    higher = pre_start_gate_failures(
        Reading(systolic=systolic + systolic_rise, diastolic=diastolic + diastolic_rise),
        DEFAULT_THRESHOLDS,
    )
    for component in ("systolic", "diastolic"):
        assert any(component in failure for failure in higher) or not any(
            component in failure for failure in lower
        )


def _limit_paths(thresholds: dict[str, Any]) -> list[tuple[str, ...]]:
    """Every numeric limit in a thresholds dict, as a path of keys."""
    paths: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        else:
            paths.append(path)

    walk(thresholds, ())
    return paths


LIMIT_PATHS = _limit_paths(DEFAULT_THRESHOLDS)


@st.composite
def tightened_thresholds(draw: st.DrawFn) -> dict[str, Any]:
    """The defaults with some limits made stricter: an upper limit (above, at_or_above, a rise, a
    gate, a NEWS2 score) lowered, a lower limit (below, at_or_below) raised."""
    thresholds = copy.deepcopy(DEFAULT_THRESHOLDS)
    for path in draw(st.lists(st.sampled_from(LIMIT_PATHS), min_size=1, max_size=4, unique=True)):
        *parents, key = path
        node = thresholds
        for parent in parents:
            node = node[parent]
        step = Decimal(draw(st.integers(0, 300))) / 10
        node[key] = Decimal(str(node[key])) + (step if key.endswith("below") else -step)
    return thresholds


@PROPERTY
@given(reading=readings, baseline=st.none() | readings, stricter=tightened_thresholds())
def test_stricter_limits_never_lower_an_alert_or_pass_a_failed_gate(
    reading: Reading, baseline: Reading | None, stricter: dict[str, Any]
) -> None:
    # A clinician who tightens a protocol's limits may get more alerts, never fewer or milder.
    default = _severity_by_parameter(
        evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=baseline)
    )
    strict = _severity_by_parameter(evaluate(reading, thresholds=stricter, baseline=baseline))
    for parameter, severity in default.items():
        assert SEVERITY_RANK[strict.get(parameter)] >= SEVERITY_RANK[severity], (default, strict)
    gate = pre_start_gate_failures(reading, DEFAULT_THRESHOLDS)
    assert len(pre_start_gate_failures(reading, stricter)) >= len(gate)


# --- Questionnaires ------------------------------------------------------------------------------

INSTRUMENT_CODES = sorted(INSTRUMENTS)


@st.composite
def answered(draw: st.DrawFn) -> tuple[Any, list[int]]:
    """A registered instrument and a complete, valid set of answers to it (PHQ-9's unscored
    item 10 included or not)."""
    instrument = INSTRUMENTS[draw(st.sampled_from(INSTRUMENT_CODES))]
    required = max(item.number for item in instrument.scored_items)
    count = draw(st.integers(required, len(instrument.items)))
    answers = [
        draw(st.sampled_from([option.value for option in item.options]))
        for item in instrument.items[:count]
    ]
    return instrument, answers


def band_rank(instrument: Any, severity: str) -> int:
    return [band.name for band in instrument.bands].index(severity)


@PROPERTY
@given(code=st.sampled_from(INSTRUMENT_CODES), data=st.data())
def test_severity_never_falls_as_the_total_rises(code: str, data: st.DataObject) -> None:
    instrument = INSTRUMENTS[code]
    low = data.draw(st.integers(0, instrument.max_score))
    high = data.draw(st.integers(low, instrument.max_score))
    assert band_rank(instrument, instrument.severity(high)) >= band_rank(
        instrument, instrument.severity(low)
    )


@PROPERTY
@given(given_answers=answered(), data=st.data())
def test_a_worse_answer_raises_the_total_by_exactly_its_difference(
    given_answers: tuple[Any, list[int]], data: st.DataObject
) -> None:
    instrument, answers = given_answers
    position = data.draw(st.integers(0, len(answers) - 1))
    item = instrument.items[position]
    worse = data.draw(st.integers(answers[position], max(o.value for o in item.options)))
    before = instrument.score(answers)
    after = instrument.score([*answers[:position], worse, *answers[position + 1 :]])
    if item.scored:
        assert after.total == before.total + worse - answers[position]
    else:  # PHQ-9 item 10 (functional difficulty) is asked, not scored
        assert (after.total, after.severity) == (before.total, before.severity)
    assert band_rank(instrument, after.severity) >= band_rank(instrument, before.severity)
    # The safety flag never clears as an answer worsens.
    assert after.safety_flag or not before.safety_flag


@PROPERTY
@given(given_answers=answered(), data=st.data())
def test_the_total_does_not_depend_on_which_question_an_answer_was_given_to(
    given_answers: tuple[Any, list[int]], data: st.DataObject
) -> None:
    instrument, answers = given_answers
    scored = [i for i, item in enumerate(instrument.items[: len(answers)]) if item.scored]
    shuffled = list(answers)
    for index, value in zip(
        scored, data.draw(st.permutations([answers[i] for i in scored])), strict=True
    ):
        shuffled[index] = value
    result = instrument.score(shuffled)
    assert (result.total, result.severity) == (
        instrument.score(answers).total,
        instrument.score(answers).severity,
    )
    if instrument.safety_item is not None:
        assert result.safety_flag is (shuffled[instrument.safety_item - 1] > 0)


@PROPERTY
@given(
    given_answers=answered(),
    data=st.data(),
    bad=st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=4),
        st.booleans(),
        st.floats(allow_nan=False),
        st.text(max_size=3),
        st.none(),
    ),
)
def test_an_invalid_answer_is_refused_naming_the_first_bad_question(
    given_answers: tuple[Any, list[int]], data: st.DataObject, bad: Any
) -> None:
    instrument, answers = given_answers
    positions = data.draw(
        st.lists(st.integers(0, len(answers) - 1), min_size=1, max_size=3, unique=True)
    )
    spoiled: list[Any] = list(answers)
    for position in positions:
        spoiled[position] = bad
    try:
        instrument.score(spoiled)
    except AnswerError as error:
        assert error.item_number == min(positions) + 1
    else:
        raise AssertionError(f"{spoiled!r} was scored")


@PROPERTY
@given(baseline=st.integers(1, PHQ9.max_score), latest=st.integers(0, PHQ9.max_score))
def test_response_is_a_reduction_of_at_least_half_and_remission_a_score_below_5(
    baseline: int, latest: int
) -> None:
    response, remission = response_and_remission(baseline=baseline, latest=latest)
    assert response is (Fraction(baseline - latest, baseline) >= Fraction(1, 2))
    assert remission is (latest < 5)
    # A lower latest score never loses a response or a remission; a higher baseline never
    # loses a response.
    if latest > 0:
        better = response_and_remission(baseline=baseline, latest=latest - 1)
        assert better[0] or not response
        assert better[1] or not remission
    if baseline < PHQ9.max_score:
        assert response_and_remission(baseline=baseline + 1, latest=latest)[0] or not response


# --- Slot computation ----------------------------------------------------------------------------

# A 45-minute offset (Kathmandu), a half-hour daylight-saving shift (Lord Howe) and the usual
# one-hour shifts; the grid is local wall-clock time in each.
ZONES = [
    ZoneInfo(name)
    for name in ("America/New_York", "Europe/London", "Asia/Kathmandu", "Australia/Lord_Howe")
]


@st.composite
def slot_questions(draw: st.DrawFn) -> dict[str, Any]:
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)))
    opening_minutes = draw(st.integers(0, 20 * 60))
    closing_minutes = draw(st.integers(opening_minutes + 1, 24 * 60 - 1))
    hours = ClinicHours(
        tz=zone,
        opening_time=time(*divmod(opening_minutes, 60)),
        closing_time=time(*divmod(closing_minutes, 60)),
        open_weekdays=draw(st.frozensets(st.integers(0, 6), min_size=1)),
    )
    midnight = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    bookings = [
        Booking(
            chair_id=chair_id,
            starts_at=(midnight + timedelta(minutes=offset)).astimezone(zone),
            ends_at=(midnight + timedelta(minutes=offset + length)).astimezone(zone),
        )
        for chair_id, offset, length in draw(
            st.lists(
                st.tuples(st.integers(1, 4), st.integers(-120, 26 * 60), st.integers(0, 300)),
                max_size=10,
            )
        )
    ]
    return {
        "day": day,
        "hours": hours,
        # Often a whole number of quarter hours, so that offers and bookings end on the grid
        # and touch each other (half-open: touching is not overlapping).
        "duration": timedelta(
            minutes=draw(st.integers(1, 6 * 60) | st.integers(1, 24).map(lambda n: 15 * n))
        ),
        "chair_ids": draw(st.lists(st.integers(1, 4), min_size=1, max_size=4, unique=True)),
        "bookings": bookings,
        "not_before": draw(
            st.none() | st.integers(-60, 25 * 60).map(lambda m: midnight + timedelta(minutes=m))
        ),
        "grid_minutes": draw(st.sampled_from([5, 15, 30, 60])),
    }


def overlaps(slot: Slot, booking: Booking) -> bool:
    return (
        slot.chair_id == booking.chair_id
        and booking.starts_at < booking.ends_at
        and slot.starts_at < booking.ends_at
        and booking.starts_at < slot.ends_at
    )


@PROPERTY
@given(question=slot_questions(), data=st.data())
def test_offers_do_not_depend_on_the_order_of_bookings_or_chairs(
    question: dict[str, Any], data: st.DataObject
) -> None:
    shuffled = {
        **question,
        "bookings": data.draw(st.permutations(question["bookings"])),
        "chair_ids": data.draw(st.permutations(question["chair_ids"])),
    }
    assert free_slots(**shuffled) == free_slots(**question)


@PROPERTY
@given(question=slot_questions(), data=st.data())
def test_a_new_booking_withdraws_exactly_the_offers_it_overlaps(
    question: dict[str, Any], data: st.DataObject
) -> None:
    before = free_slots(**question)
    # Book one of the offers (what a scheduler does next), or anything at all.
    book_an_offer = data.draw(st.booleans()) if before else False
    if book_an_offer:
        taken = data.draw(st.sampled_from(before))
        booking = Booking(chair_id=taken.chair_id, starts_at=taken.starts_at, ends_at=taken.ends_at)
    else:
        midnight = datetime.combine(question["day"], time(0), tzinfo=question["hours"].tz)
        offset = data.draw(st.integers(-120, 26 * 60))
        length = data.draw(st.integers(0, 300))
        booking = Booking(
            chair_id=data.draw(st.integers(1, 4)),
            starts_at=midnight + timedelta(minutes=offset),
            ends_at=midnight + timedelta(minutes=offset + length),
        )
    after = free_slots(**{**question, "bookings": [*question["bookings"], booking]})
    assert after == [slot for slot in before if not overlaps(slot, booking)]


@PROPERTY
@given(question=slot_questions(), later_by=st.integers(0, 24 * 60))
def test_a_later_earliest_start_only_drops_the_offers_before_it(
    question: dict[str, Any], later_by: int
) -> None:
    earliest = question["not_before"] or datetime.combine(
        question["day"], time(0), tzinfo=question["hours"].tz
    ).astimezone(UTC) - timedelta(hours=2)
    later = earliest + timedelta(minutes=later_by)
    before = free_slots(**{**question, "not_before": earliest})
    assert free_slots(**{**question, "not_before": later}) == [
        slot for slot in before if slot.starts_at >= later
    ]


@PROPERTY
@given(question=slot_questions(), data=st.data())
def test_each_chair_is_offered_on_its_own(question: dict[str, Any], data: st.DataObject) -> None:
    chair_ids = question["chair_ids"]
    dropped = data.draw(st.sampled_from(chair_ids))
    remaining = [chair_id for chair_id in chair_ids if chair_id != dropped]
    everything = free_slots(**question)
    if remaining:
        assert free_slots(**{**question, "chair_ids": remaining}) == [
            slot for slot in everything if slot.chair_id != dropped
        ]
    assert {slot.chair_id for slot in everything} <= set(chair_ids)


@PROPERTY
@given(
    question=slot_questions(),
    data=st.data(),
    count=st.integers(1, 6),
    within_days=st.integers(1, 21),
    preferred_minutes=st.integers(0, 24 * 60 - 1),
    busy=st.lists(st.tuples(st.integers(0, 24 * 21), st.integers(1, 30)), max_size=5),
)
def test_a_suggested_series_does_not_depend_on_the_order_of_bookings(
    question: dict[str, Any],
    data: st.DataObject,
    count: int,
    within_days: int,
    preferred_minutes: int,
    busy: list[tuple[int, int]],
) -> None:
    midnight = datetime.combine(question["day"], time(0), tzinfo=question["hours"].tz)
    patient_busy = [
        (midnight + timedelta(hours=start), midnight + timedelta(hours=start + length))
        for start, length in busy
    ]
    common = {
        "first_day": question["day"],
        "count": count,
        "within_days": within_days,
        "preferred_time": time(*divmod(preferred_minutes, 60)),
        "hours": question["hours"],
        "duration": question["duration"],
        "not_before": question["not_before"],
        "grid_minutes": question["grid_minutes"],
    }
    series = suggest_series(
        **common,
        chair_ids=question["chair_ids"],
        bookings=question["bookings"],
        patient_busy=patient_busy,
    )
    assert series == suggest_series(
        **common,
        chair_ids=data.draw(st.permutations(question["chair_ids"])),
        bookings=data.draw(st.permutations(question["bookings"])),
        patient_busy=data.draw(st.permutations(patient_busy)),
    )
