"""The session state machine of CLINICAL.md, as data: which action moves which status where.

scheduled -> checked_in -> in_progress -> recovery -> discharged; cancelled and no_show from
scheduled; stopped (ended early) from in_progress. Pure Python: services enforce it.
"""

from datetime import timedelta

from scheduling.models import SessionStatus

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "check_in": (frozenset({SessionStatus.SCHEDULED}), SessionStatus.CHECKED_IN),
    "start": (frozenset({SessionStatus.CHECKED_IN}), SessionStatus.IN_PROGRESS),
    "stop": (frozenset({SessionStatus.IN_PROGRESS}), SessionStatus.STOPPED),
    "complete": (frozenset({SessionStatus.IN_PROGRESS}), SessionStatus.RECOVERY),
    "discharge": (frozenset({SessionStatus.RECOVERY}), SessionStatus.DISCHARGED),
    "cancel": (frozenset({SessionStatus.SCHEDULED}), SessionStatus.CANCELLED),
    "no_show": (frozenset({SessionStatus.SCHEDULED}), SessionStatus.NO_SHOW),
    "reschedule": (frozenset({SessionStatus.SCHEDULED}), SessionStatus.SCHEDULED),
}

# Patients arrive early: check-in and start open this long before the booked start.
EARLY_ARRIVAL = timedelta(minutes=60)
# A walk-in may be booked this far in the past.
WALK_IN_GRACE = timedelta(minutes=15)
# Not checked in this long after the start: the beat job marks the session a no-show.
NO_SHOW_AFTER = timedelta(minutes=30)


def allowed(action: str, status: str) -> bool:
    sources, _ = TRANSITIONS[action]
    return status in sources


def target(action: str) -> str:
    return TRANSITIONS[action][1]
