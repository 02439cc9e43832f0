"""The API's table of contents: each operation's tag (Swagger's groups) and one-line summary.

Applied to the OpenAPI schema by a drf-spectacular post-processing hook, so Swagger groups the
operations the way the people using them think of the work: auth, clinic set-up, patients,
scheduling, vitals and alerts, questionnaires, admin. A view's own description wins; every
operation must end up with one (tests/test_openapi_catalogue.py).
"""

from __future__ import annotations

from typing import Any

TAGS = [
    {"name": "auth", "description": "Log in and out: bearer tokens."},
    {"name": "clinic set-up", "description": "Clinics, closures, chairs, staff, protocols."},
    {"name": "patients", "description": "Patients, their intake and contraindications."},
    {"name": "scheduling", "description": "Availability, bookings, series, the session's moves."},
    {
        "name": "vitals and alerts",
        "description": "At the chair: readings, alerts, the clinical gates, the session record.",
    },
    {"name": "questionnaires", "description": "PHQ-9 and GAD-7: links, answers, outcomes."},
    {"name": "admin", "description": "The audit trail and the outbox."},
]

# First match wins: an operation id starting with one of these prefixes gets the tag.
_TAG_BY_PREFIX: list[tuple[str, tuple[str, ...]]] = [
    ("auth", ("auth_",)),
    ("questionnaires", ("instruments_", "surveys_", "public_surveys_", "patients_outcomes")),
    (
        "vitals and alerts",
        (
            "alerts_",
            "sessions_vitals",
            "sessions_start",
            "sessions_stop",
            "sessions_discharge",
            "sessions_confirm_escort",
            "sessions_adverse_events",
            "sessions_summary",
            "sessions_chart",
        ),
    ),
    ("admin", ("audit_events_", "notifications_")),
    ("scheduling", ("patients_sessions_ics", "availability", "series_", "sessions_")),
    ("patients", ("patients_",)),
    ("clinic set-up", ("clinics_", "chairs_", "staff_", "protocols_")),
]

SUMMARIES: dict[str, str] = {
    "auth_login": "Log in with a username and password; answers a bearer token.",
    "auth_logout": "End this token's session.",
    "clinics_list": "The clinics you work in.",
    "clinics_create": "Create a clinic with its time zone, hours and open weekdays (admin).",
    "clinics_retrieve": "One clinic and its settings.",
    "chairs_list": "The infusion chairs of your clinics.",
    "chairs_create": "Add an infusion chair to a clinic (admin).",
    "staff_list": "The staff of your clinics, with their roles.",
    "staff_create": "Add a staff member with a role and clinics (admin).",
    "protocols_list": "The protocols your clinics offer.",
    "protocols_create": "Create a protocol: route, dose, minutes and threshold overrides.",
    "protocols_retrieve": "One protocol, with its effective alert thresholds.",
    "patients_list": "Your clinics' patients (search by name).",
    "patients_create": "Register a patient with contact details and intake contraindications.",
    "patients_retrieve": "One patient.",
    "patients_contraindications_review": "A clinician records the review of intake flags.",
    "patients_sessions_ics": "The patient's sessions as an iCalendar feed.",
    "availability": "Free starts on a day for a protocol, per chair (given a patient, spaced).",
    "series_create": "Book an induction series: every start, or none.",
    "series_suggest": "Propose an induction series that can be posted as it is.",
    "sessions_list": "Sessions, filtered by clinic, date, patient, status, chair or nurse.",
    "sessions_create": "Book a session on a chair (409 names a chair, patient or nurse clash).",
    "sessions_retrieve": "One session with its moves.",
    "sessions_check_in": "Check the patient in: fasting, escort, today's weight.",
    "sessions_complete": "The infusion is over; recovery begins (a reason if it ended early).",
    "sessions_cancel": "Cancel a booked session, with a reason; its reminders stop.",
    "sessions_no_show": "Record that the patient did not come.",
    "sessions_reschedule": "Move a booked session (and its reminders).",
    "sessions_vitals_list": "The session's readings in the order they were taken.",
    "sessions_start": "Start the infusion: baseline within the pre-start gate, or an override.",
    "sessions_stop": "End the infusion early with a reason and the adverse event.",
    "sessions_discharge": (
        "Discharge: needs recovery_time (the protocol's recovery minutes since the infusion "
        "ended), vitals_recent (BP, heart rate and SpO2 within 15 minutes), vitals_in_limits, "
        "consciousness alert, no open_critical_alert and a confirmed escort; a clinician may "
        "choose another arrangement with a reason."
    ),
    "sessions_confirm_escort": "Confirm the patient's escort after check-in, until discharge.",
    "sessions_adverse_events_list": "The session's adverse events.",
    "sessions_adverse_events_create": "Record an adverse event during or after the infusion.",
    "sessions_summary": "The session's monitoring record: dose, baseline, peaks, alerts, times.",
    "sessions_chart": "The session's vital signs as an SVG chart with their limits.",
    "alerts_list": "Alerts of your clinics (critical and warning), filterable.",
    "alerts_acknowledge": "Acknowledge an alert with a note.",
    "instruments_list": "PHQ-9 and GAD-7: items, LOINC codes and answer options.",
    "surveys_list": "Questionnaires sent, with their status.",
    "surveys_create": "Send a patient a questionnaire link.",
    "patients_outcomes": "PHQ-9 and GAD-7 scores: baseline, latest, response, remission.",
    "patients_outcomes_chart": "The patient's PHQ-9 and GAD-7 scores as an SVG chart.",
    "audit_events_list": "The audit trail: who read or changed which patient's data (admin).",
    "notifications_list": "The outbox: every message, its status and when it was sent (admin).",
}


def tag_of(operation_id: str) -> str | None:
    for tag, prefixes in _TAG_BY_PREFIX:
        if operation_id.startswith(prefixes):
            return tag
    return None


def catalogue_hook(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: tags and summaries on every operation."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            operation_id = operation["operationId"]
            tag = tag_of(operation_id)
            if tag is not None:
                operation["tags"] = [tag]
            if not operation.get("description") and operation_id in SUMMARIES:
                operation["description"] = SUMMARIES[operation_id]
    result["tags"] = TAGS
    return result
