"""Quiet hours: the nightly window in which non-urgent messages to patients are held.
Pure Python over the clinic's IANA zone, so it is right across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _in_window(local: time, start: time, end: time) -> bool:
    if start == end:
        return False  # no quiet hours
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window wraps midnight (21:00-08:00)


def quiet_hours_end(moment: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """If `moment` falls in quiet hours, the (UTC) moment they end; otherwise None."""
    local = moment.astimezone(tz)
    if not _in_window(local.time(), start, end):
        return None
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(UTC)


def before_quiet_hours(moment: datetime, tz: ZoneInfo, start: time, end: time) -> datetime:
    """`moment` if it is outside quiet hours; otherwise the last minute before they began.

    A reminder due at 06:00 for an 08:00 infusion is worth more the evening before than at 08:00."""
    local = moment.astimezone(tz)
    if not _in_window(local.time(), start, end):
        return moment
    day = local.date() if local.time() >= start else local.date() - timedelta(days=1)
    began = datetime.combine(day, start, tzinfo=tz)
    return (began - timedelta(minutes=1)).astimezone(UTC)
