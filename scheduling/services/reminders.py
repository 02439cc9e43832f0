"""Appointment reminders and the session's calendar event."""

from __future__ import annotations

from datetime import datetime, timedelta

from clinic.models import (
    Channel,
    NotificationKind,
)
from clinic.quiet_hours import before_quiet_hours, quiet_hours_end
from clinic.services import (
    notification_schedule,
    patient_contact,
)
from scheduling.calendar import CalendarEvent, calendar_ics
from scheduling.models import (
    RELEASED_STATUSES,
    InfusionSession,
)

# --- Reminders ----------------------------------------------------------------------------------

# A reminder that would reach the patient later than this before the start is no reminder.
REMINDER_MIN_LEAD = timedelta(minutes=30)

REMINDER_TEXT = (
    "Reminder from {clinic}: your infusion is on {when} ({zone}). "
    "Please eat no solid food for 6 hours before it; clear liquids are fine until 2 hours "
    "before. Bring an adult to take you home: you must not drive until the next day."
)


def session_calendar_event(session: InfusionSession) -> CalendarEvent:
    clinic = session.clinic
    return CalendarEvent(
        uid=f"session-{session.pk}@infusion-clinic",
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        summary=f"Infusion at {clinic.name}",
        location=clinic.name,
        description=(
            "No solid food for 6 hours before; clear liquids until 2 hours before. "
            "Bring an adult to take you home; no driving until the next day."
        ),
        sequence=session.revision,
        cancelled=session.status in RELEASED_STATUSES,
    )


def schedule_reminders(session: InfusionSession, *, now: datetime) -> None:
    """Write the session's reminders to the outbox at once (API.md): by the patient's channel,
    each at its offset before the start, moved out of quiet hours to the evening before."""
    contact = patient_contact(patient=session.patient)
    if contact is None:
        return  # opted out of everything, or no address
    channel, address = contact
    clinic = session.clinic
    zone = clinic.zone
    local = session.starts_at.astimezone(zone)
    body = REMINDER_TEXT.format(
        clinic=clinic.name, when=f"{local:%A %d %B at %H:%M}", zone=clinic.timezone
    )
    ics = ""
    if channel == Channel.EMAIL:
        ics = calendar_ics([session_calendar_event(session)], name=clinic.name).decode()
    quiet = (zone, clinic.quiet_hours_start, clinic.quiet_hours_end)
    for hours in clinic.reminder_offsets_hours:
        due = session.starts_at - timedelta(hours=hours)
        morning = quiet_hours_end(due, *quiet)
        if morning is not None:
            # Due in quiet hours: wait for the morning if that is still well before the start
            # (a 07:00 reminder for 09:00 goes at 08:00), else go the evening before.
            due = (
                morning
                if morning <= session.starts_at - REMINDER_MIN_LEAD
                else before_quiet_hours(due, *quiet)
            )
        if due <= now:
            continue  # booked too close to the start for this one
        notification_schedule(
            clinic=clinic,
            kind=NotificationKind.APPOINTMENT_REMINDER,
            channel=channel,
            recipient=address,
            subject=f"Your infusion on {local:%A %d %B at %H:%M}",
            body=body,
            calendar_ics=ics,
            scheduled_for=due,
            dedup_key=f"session:{session.pk}:rev{session.revision}:reminder:{hours}h",
            patient=session.patient,
            session=session.pk,
        )
