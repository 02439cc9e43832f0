"""The fast path of vitals validation (`plain_reading`) against the serializer it stands in
for: whatever the fast path accepts, the serializer accepts with the very same values (types,
time zones and Decimal exponents included); everything else goes to the serializer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from django.utils import timezone as django_timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitoring.apis import VitalReadingInputSerializer, plain_reading, readings_given
from tests.factories import reading

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")  # the current time zone (settings.TIME_ZONE), as the serializer has it


OFFSETS = [UTC, timezone(timedelta(hours=-4)), timezone(timedelta(hours=5, minutes=30))]
# Either side of the "at most 5 minutes ahead" limit, and well inside it.
AHEAD = [timedelta(minutes=-1), timedelta(hours=-3), timedelta(minutes=4), timedelta(minutes=6)]


def _plain_times() -> st.SearchStrategy[str]:
    return st.builds(
        lambda delta, tz, z: (NOW + delta).astimezone(tz).isoformat().replace("+00:00", z),
        st.sampled_from(AHEAD),
        st.sampled_from(OFFSETS),
        st.sampled_from(["+00:00", "Z"]),
    )


def _odd_times() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(AHEAD).map(lambda delta: (NOW + delta).replace(tzinfo=None).isoformat()),
        st.sampled_from(AHEAD).map(lambda delta: (NOW + delta).strftime("%Y-%m-%d %H:%M:%S%z")),
        st.sampled_from(
            ["1999-12-31T23:00:00Z", "2201-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00"]
        ),
        st.sampled_from(["", "yesterday", "2026-11-21", "2026-02-30T10:00:00Z"]),
        st.integers(),
    )


def _odd_ints(low: int, high: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([low - 1, high + 1, -1, 0]),
        st.integers(low, high).map(str),
        st.integers(low, high).map(float),
        st.booleans(),
    )


def _odd_uuids() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        st.uuids().map(lambda u: u.urn),
        st.uuids().map(lambda u: f" {u}"),
        st.text(max_size=40),
        st.integers(min_value=0, max_value=2**128 - 1),
    )


# Values a tablet sends, with boundaries and collisions (diastolic equal to systolic).
PLAIN: dict[str, st.SearchStrategy[Any]] = {
    "id": st.uuids().map(str),
    "taken_at": _plain_times(),
    "systolic": st.sampled_from([50, 80, 120, 200, 300]),
    "diastolic": st.sampled_from([20, 80, 119, 120, 200]),
    "heart_rate": st.sampled_from([20, 72, 250]),
    "spo2": st.sampled_from([50, 97, 100]),
    "respiratory_rate": st.sampled_from([4, 16, 60]),
    "temperature_c": st.one_of(
        st.decimals(min_value=30, max_value=45, places=1).map(str),
        st.decimals(min_value=30, max_value=45, places=1).map(float),
        st.integers(30, 45),
    ),
    "consciousness": st.sampled_from(["alert", "confusion", "voice", "pain", "unresponsive"]),
    "on_oxygen": st.booleans(),
    "device_id": st.one_of(
        st.sampled_from(["", "tablet-3", "a" * 100]), st.text(min_size=1, max_size=20)
    ),
    "supersedes": st.uuids().map(str),
}
# Anything else: valid in another form (the serializer's to judge), or not valid at all.
ODD: dict[str, st.SearchStrategy[Any]] = {
    "id": _odd_uuids(),
    "taken_at": _odd_times(),
    "systolic": _odd_ints(50, 300),
    "diastolic": _odd_ints(20, 200),
    "heart_rate": _odd_ints(20, 250),
    "spo2": _odd_ints(50, 100),
    "respiratory_rate": _odd_ints(4, 60),
    "temperature_c": st.one_of(
        st.decimals(min_value=28, max_value=47, places=2).map(str),
        st.floats(min_value=28, max_value=47),
        st.sampled_from([29.9, 45.1, "29.9", "45.1", float("nan"), float("inf")]),
        st.sampled_from([" 36.8", "36.8 ", "3.7e1", "NaN", "", "036.8", "36.", ".5", True]),
    ),
    "consciousness": st.one_of(
        st.sampled_from(["", "ALERT", "asleep", " alert", True]), st.integers()
    ),
    "on_oxygen": st.sampled_from(["true", "false", 0, 1, None]),
    "device_id": st.one_of(
        st.text(max_size=110),
        st.sampled_from([" tablet-3", "tablet-3 ", "tablet\x00", "a" * 101, 7, 7.5, True]),
    ),
    "supersedes": _odd_uuids(),
    "unknown": st.integers(),
}


@st.composite
def readings(draw: st.DrawFn) -> dict[str, Any]:
    """A reading as a tablet sends it, some of its fields left out, and up to two of them
    replaced by something odd, left null or taken away."""
    item = {
        name: draw(strategy)
        for name, strategy in PLAIN.items()
        if name in ("id", "taken_at") or draw(st.booleans())
    }
    for name in draw(st.lists(st.sampled_from(list(ODD)), max_size=2, unique=True)):
        change = draw(st.sampled_from(["odd", "null", "gone"]))
        if change == "odd":
            item[name] = draw(ODD[name])
        elif change == "null":
            item[name] = None
        else:
            item.pop(name, None)
    return item


def exactly(value: Any) -> Any:
    """A value with what `==` overlooks: its type, a Decimal's exponent, a time's zone."""
    if isinstance(value, Decimal):
        return ("Decimal", value.as_tuple())
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo))
    return (type(value).__name__, value)


@settings(max_examples=1500, deadline=None)
@given(item=readings())
@example(item={**reading(), "taken_at": "2026-11-21T09:29:00Z"})
@example(item={**reading(), "taken_at": "2026-11-21T09:29:00Z", "temperature_c": 37})
@example(item={**reading(), "taken_at": "2026-11-21T09:29:00Z", "systolic": 120, "diastolic": 120})
@example(item={**reading(), "taken_at": "2026-11-21T09:35:00.000001Z"})
def test_what_the_fast_path_accepts_the_serializer_accepts_with_the_same_values(item) -> None:
    with time_machine.travel(NOW, tick=False):
        fast = plain_reading(item, now=NOW, zone=UTC_ZONE)
        serializer = VitalReadingInputSerializer(data=item)
        valid = serializer.is_valid()
    if fast is None:
        return
    assert valid, serializer.errors
    assert {k: exactly(v) for k, v in fast.items()} == {
        k: exactly(v) for k, v in serializer.validated_data.items()
    }


def test_a_reading_as_tablets_send_it_takes_the_fast_path() -> None:
    """The benchmark's reading and the tests' one: if these fell back, ingest would be slower
    and every test would still pass."""
    sent = {
        **reading(temperature_c="36.8", consciousness="alert", device_id="tablet-3"),
        "taken_at": (NOW - timedelta(minutes=1)).isoformat(),
    }
    assert plain_reading(sent, now=NOW, zone=UTC_ZONE) is not None
    assert plain_reading({**sent, "temperature_c": 36.8}, now=NOW, zone=UTC_ZONE) is not None
    assert (
        plain_reading({**sent, "supersedes": str(uuid.uuid4())}, now=NOW, zone=UTC_ZONE) is not None
    )


def test_a_batch_with_one_reading_off_the_fast_path_is_judged_whole_by_the_serializer() -> None:
    odd = {**reading(), "systolic": "120"}  # a string the serializer accepts as 120
    given = readings_given([reading(), odd], batch=True)
    assert [r["systolic"] for r in given] == [120, 120]


def test_in_another_current_time_zone_the_fast_path_gives_the_serializers_time() -> None:
    """The serializer gives times in the current time zone; so must the fast path."""
    sent = {**reading(), "taken_at": "2026-11-21T04:29:00-05:00"}
    with time_machine.travel(NOW, tick=False), django_timezone.override("America/New_York"):
        fast = plain_reading(sent, now=NOW, zone=django_timezone.get_current_timezone())
        serializer = VitalReadingInputSerializer(data=sent)
        assert serializer.is_valid(), serializer.errors
    assert fast is not None
    assert exactly(fast["taken_at"]) == exactly(serializer.validated_data["taken_at"])
    assert repr(fast["taken_at"].tzinfo) == "zoneinfo.ZoneInfo(key='America/New_York')"
