"""iCalendar (RFC 5545) files for infusion sessions: the patient's feed and e-mail attachments.

Pure: no Django, so it is usable and testable anywhere. Times are written in UTC; calendar
apps show them in the reader's own zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event, vText

PRODUCT_ID = "-//Infusion clinic//EN"


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str
    description: str
    sequence: int = 0  # calendar apps replace an event only by a higher SEQUENCE
    cancelled: bool = False


def _as_utc(moment: datetime, *, field: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware, got a naive datetime")
    return moment.astimezone(UTC)


def calendar_ics(events: Iterable[CalendarEvent], *, name: str) -> bytes:
    """One VCALENDAR holding a VEVENT per event, as the bytes of an .ics file."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    # An X- property has no known type, so icalendar would write it raw; as TEXT it is
    # escaped and a comma, semicolon or newline in a clinic's name cannot break the file.
    calendar.add("x-wr-calname", vText(name))
    stamped_at = datetime.now(UTC)
    for event in events:
        vevent = Event()
        vevent.add("uid", event.uid)
        vevent.add("dtstamp", stamped_at)
        vevent.add("dtstart", _as_utc(event.starts_at, field="starts_at"))
        vevent.add("dtend", _as_utc(event.ends_at, field="ends_at"))
        vevent.add("summary", event.summary)
        vevent.add("location", event.location)
        vevent.add("description", event.description)
        vevent.add("sequence", event.sequence)
        vevent.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
        calendar.add_component(vevent)
    return calendar.to_ical()
