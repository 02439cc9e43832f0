"""The .ics builder: every field survives a round trip through a real iCalendar parser."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine

from scheduling.calendar import CalendarEvent, calendar_ics

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2030, 1, 2, 15, 30, tzinfo=UTC)


def event(**overrides) -> CalendarEvent:
    fields = {
        "uid": "session-1@infusion-clinic",
        "starts_at": datetime(2030, 1, 7, 9, 0, tzinfo=NEW_YORK),
        "ends_at": datetime(2030, 1, 7, 10, 25, tzinfo=NEW_YORK),
        "summary": "Infusion at Home Clinic",
        "location": "Home Clinic, 1 Main St; Suite 2",
        "description": "No solid food for 6 hours before.\nBring an adult to take you home.",
    }
    return CalendarEvent(**{**fields, **overrides})


def parse(ics: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(ics)


def test_the_calendar_and_its_event_carry_every_field() -> None:
    with time_machine.travel(NOW, tick=False):
        ics = calendar_ics([event(sequence=3)], name="Home Clinic infusions")

    calendar = parse(ics)
    assert str(calendar["PRODID"]) == "-//Infusion clinic//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Home Clinic infusions"

    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == "session-1@infusion-clinic"
    assert vevent.decoded("DTSTAMP") == NOW
    assert vevent.decoded("DTSTART") == datetime(2030, 1, 7, 14, 0, tzinfo=UTC)
    assert vevent.decoded("DTEND") == datetime(2030, 1, 7, 15, 25, tzinfo=UTC)
    assert str(vevent["SUMMARY"]) == "Infusion at Home Clinic"
    assert str(vevent["LOCATION"]) == "Home Clinic, 1 Main St; Suite 2"
    assert str(vevent["DESCRIPTION"]) == (
        "No solid food for 6 hours before.\nBring an adult to take you home."
    )
    assert vevent["SEQUENCE"] == 3
    assert str(vevent["STATUS"]) == "CONFIRMED"


def test_times_are_written_in_utc() -> None:
    ics = calendar_ics([event()], name="Clinic")
    assert b"DTSTART:20300107T140000Z\r\n" in ics
    assert b"DTEND:20300107T152500Z\r\n" in ics
    assert b"TZID" not in ics and b"VTIMEZONE" not in ics


def test_utc_is_correct_across_a_daylight_saving_change() -> None:
    # 2030-03-10 is the US spring-forward day: 09:00 in New York is then UTC-4, not UTC-5.
    starts_at = datetime(2030, 3, 10, 9, 0, tzinfo=NEW_YORK)
    ics = calendar_ics(
        [event(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=85))], name="Clinic"
    )
    [vevent] = parse(ics).walk("VEVENT")
    assert vevent.decoded("DTSTART") == datetime(2030, 3, 10, 13, 0, tzinfo=UTC)


def test_a_cancelled_event_says_so() -> None:
    [vevent] = parse(calendar_ics([event(cancelled=True)], name="Clinic")).walk("VEVENT")
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert vevent["SEQUENCE"] == 0


def test_one_vevent_per_event_and_none_for_none() -> None:
    events = [event(uid=f"session-{n}@infusion-clinic") for n in range(3)]
    calendar = parse(calendar_ics(events, name="Clinic"))
    assert [str(e["UID"]) for e in calendar.walk("VEVENT")] == [e.uid for e in events]
    assert parse(calendar_ics([], name="Clinic")).walk("VEVENT") == []


def test_a_name_with_a_newline_cannot_inject_a_property() -> None:
    ics = calendar_ics([event()], name="Clinic\r\nMETHOD:CANCEL")
    assert b"\r\nMETHOD:CANCEL" not in ics
    assert str(parse(ics)["METHOD"]) == "PUBLISH"


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_a_naive_datetime_is_refused(field) -> None:
    naive = datetime(2030, 1, 7, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match=field):
        calendar_ics([event(**{field: naive})], name="Clinic")
