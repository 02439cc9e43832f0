"""Every write in the scheduling app, by sub-domain: booking (sessions, series, reschedules),
status (the one place a session's status changes) and reminders. Re-exported here: callers
say `services.session_book`."""

from scheduling.services.booking import (
    MAX_SERIES_SESSIONS,
    series_book,
    session_book,
    session_reschedule,
)
from scheduling.services.reminders import session_calendar_event
from scheduling.services.status import (
    SeriesCancellation,
    series_cancel,
    session_cancel,
    session_check_in,
    session_check_opened,
    session_complete,
    session_lock,
    session_mark_no_show,
    session_status_change,
    session_transition_record,
    sessions_mark_no_shows,
)

__all__ = [
    "MAX_SERIES_SESSIONS",
    "SeriesCancellation",
    "series_book",
    "series_cancel",
    "session_book",
    "session_calendar_event",
    "session_cancel",
    "session_check_in",
    "session_check_opened",
    "session_complete",
    "session_lock",
    "session_mark_no_show",
    "session_reschedule",
    "session_status_change",
    "session_transition_record",
    "sessions_mark_no_shows",
]
