"""HTTP API of the scheduling app, by sub-domain: sessions (booking, the list, a record,
rescheduling), status (check-in, completion, cancellation, no-show), slots (availability and
series), series (a series' record and cancellation), closures (the sessions a closure hits) and
the calendar feed. Re-exported here: urls.py says `apis.SessionListApi`.
"""

from scheduling.apis.calendar import (
    PatientCalendarApi,
)
from scheduling.apis.closures import ClosureAffectedSessionsApi
from scheduling.apis.series import SeriesCancelApi, SeriesCancelOutputSerializer, SeriesDetailApi
from scheduling.apis.sessions import (
    BOOKERS,
    RescheduleInputSerializer,
    SessionActionApi,
    SessionBookInputSerializer,
    SessionDetailApi,
    SessionFilterSerializer,
    SessionListApi,
    SessionOutputSerializer,
    SessionRescheduleApi,
    SessionTransitionOutputSerializer,
    session_response,
)
from scheduling.apis.slots import (
    AvailabilityApi,
    AvailabilityFilterSerializer,
    AvailabilityOutputSerializer,
    SeriesApi,
    SeriesInputSerializer,
    SeriesOutputSerializer,
    SeriesSuggestApi,
    SeriesSuggestFilterSerializer,
    SeriesSuggestionOutputSerializer,
    SlotOutputSerializer,
    slot_json,
)
from scheduling.apis.status import (
    CheckInInputSerializer,
    ReasonInputSerializer,
    SessionCancelApi,
    SessionCheckInApi,
    SessionCompleteApi,
    SessionNoShowApi,
)

__all__ = [
    "BOOKERS",
    "AvailabilityApi",
    "AvailabilityFilterSerializer",
    "AvailabilityOutputSerializer",
    "CheckInInputSerializer",
    "ClosureAffectedSessionsApi",
    "PatientCalendarApi",
    "ReasonInputSerializer",
    "RescheduleInputSerializer",
    "SeriesApi",
    "SeriesCancelApi",
    "SeriesCancelOutputSerializer",
    "SeriesDetailApi",
    "SeriesInputSerializer",
    "SeriesOutputSerializer",
    "SeriesSuggestApi",
    "SeriesSuggestFilterSerializer",
    "SeriesSuggestionOutputSerializer",
    "SessionActionApi",
    "SessionBookInputSerializer",
    "SessionCancelApi",
    "SessionCheckInApi",
    "SessionCompleteApi",
    "SessionDetailApi",
    "SessionFilterSerializer",
    "SessionListApi",
    "SessionNoShowApi",
    "SessionOutputSerializer",
    "SessionRescheduleApi",
    "SessionTransitionOutputSerializer",
    "SlotOutputSerializer",
    "session_response",
    "slot_json",
]
