"""The session's record as people read it: adverse events, the summary and the chart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet

from clinic.audit import audit_read
from clinic.models import User
from monitoring import charts
from monitoring.judgement import session_thresholds
from monitoring.models import (
    NUMERIC_MEASUREMENTS,
    AdverseEvent,
    Alert,
    InfusionStart,
    VitalReading,
)
from monitoring.selectors.vitals import reading_list
from scheduling.models import InfusionSession
from scheduling.selectors import session_get

# The reading closest to this long after the start is "the reading at about 40 minutes",
# when BP usually peaks (CLINICAL.md), if one lies within the window.
PEAK_CHECK_AFTER = timedelta(minutes=40)
PEAK_CHECK_WINDOW = timedelta(minutes=10)

# The measured values whose highest and lowest reading the summary reports (consciousness is a
# level, not a number). Both ends of each: a low blood pressure, heart rate or respiratory rate
# matters as much as a high one; for SpO2 the lowest is the one that matters.
SUMMARY_EXTREMES = NUMERIC_MEASUREMENTS


def adverse_event_list(*, session: InfusionSession) -> QuerySet[AdverseEvent]:
    return AdverseEvent.objects.filter(session=session).order_by("occurred_at", "pk")


def _reading(reading: VitalReading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {
        "id": str(reading.pk),
        "taken_at": reading.taken_at,
        "systolic": reading.systolic,
        "diastolic": reading.diastolic,
        "heart_rate": reading.heart_rate,
        "spo2": reading.spo2,
        "respiratory_rate": reading.respiratory_rate,
        "temperature_c": str(reading.temperature_c) if reading.temperature_c is not None else None,
        "consciousness": reading.consciousness,
        "flags": reading.flags,
    }


def _summary(session: InfusionSession) -> dict[str, Any]:
    """The monitoring record of a session, for the chart and the clinician's note."""
    readings = list(reading_list(session=session))
    superseded = {r.supersedes_id for r in readings if r.supersedes_id is not None}
    current = [r for r in readings if r.pk not in superseded]
    start = InfusionStart.objects.filter(session=session).select_related("baseline_reading").first()
    transitions = {t.action: t for t in session.transitions.all()}

    def extreme(field: str, *, lowest: bool) -> dict[str, Any] | None:
        # The first reading (in taken_at order) to reach the extreme; None if never measured.
        with_value = [r for r in current if getattr(r, field) is not None]
        pick = min if lowest else max
        return _reading(pick(with_value, key=lambda r: getattr(r, field), default=None))

    at_40 = None
    if session.started_at is not None:
        target = session.started_at + PEAK_CHECK_AFTER
        near = [r for r in current if abs(r.taken_at - target) <= PEAK_CHECK_WINDOW]
        at_40 = min(near, key=lambda r: abs(r.taken_at - target), default=None)
    discharge = transitions.get("discharge")
    before_discharge = None
    if discharge is not None:
        before_discharge = max(
            (r for r in current if r.taken_at <= discharge.at),
            key=lambda r: r.taken_at,
            default=None,
        )
    monitored = (
        (current[-1].taken_at - current[0].taken_at).total_seconds() / 60 if len(current) > 1 else 0
    )
    alerts = Alert.objects.filter(session=session).order_by("created_at")
    return {
        "session": session.pk,
        "patient": session.patient_id,
        "protocol": {
            "id": session.protocol_id,
            "name": session.protocol.name,
            "route": session.protocol.route,
            "infusion_minutes": session.protocol.infusion_minutes,
        },
        "status": session.status,
        "dose": None
        if start is None
        else {
            "dose_mg": str(start.dose_mg),
            "dose_mg_per_kg": str(start.dose_mg_per_kg),
            "weight_kg": str(start.weight_kg),
            "override_reason": start.override_reason,
            "override_by": start.override_by_id,
        },
        "times": {
            "starts_at": session.starts_at,
            "checked_in_at": session.checked_in_at,
            "started_at": session.started_at,
            "completed_at": session.completed_at,
            "stopped_at": transitions["stop"].at if "stop" in transitions else None,
            "discharged_at": discharge.at if discharge else None,
        },
        "baseline": _reading(start.baseline_reading if start else None),
        # The reading with each measurement's highest value, and with its lowest.
        "peak": {field: extreme(field, lowest=False) for field in SUMMARY_EXTREMES},
        "lowest": {field: extreme(field, lowest=True) for field in SUMMARY_EXTREMES},
        "reading_at_40_minutes": _reading(at_40),
        "reading_before_discharge": _reading(before_discharge),
        "readings_count": len(current),
        "monitored_minutes": round(monitored),
        "adverse_events": [
            {
                "id": event.pk,
                "kind": event.kind,
                "severity": event.severity,
                "action_taken": event.action_taken,
                "notes": event.notes,
                "occurred_at": event.occurred_at,
            }
            for event in adverse_event_list(session=session)
        ],
        "alerts": [
            {
                "id": alert.pk,
                "parameter": alert.parameter,
                "severity": alert.severity,
                "value": alert.value,
                "message": alert.message,
                "created_at": alert.created_at,
                "status": alert.status,
                "acknowledged_by": alert.acknowledged_by_id,
                "acknowledged_at": alert.acknowledged_at,
                "note": alert.note,
                "escalation_level": alert.escalation_level,
            }
            for alert in alerts
        ],
        "discharge_advice": (
            "Do not drive, cycle or operate machinery until the next day; go home with the "
            "adult who came with you."
        ),
    }


_CHART_PARAMETERS = {
    "systolic": "Systolic",
    "diastolic": "Diastolic",
    "heart_rate": "Heart rate",
    "spo2": "SpO2",
    "respiratory_rate": "Respiratory rate",
}


def _first(tier: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    return next((float(tier[key]) for key in keys if key in tier), None)


def threshold_bands(thresholds: dict[str, Any]) -> list[charts.Band]:
    """The abnormal zones of the charted parameters: warning between the two tiers' limits,
    critical beyond the critical limit."""
    bands = []
    for parameter, label in _CHART_PARAMETERS.items():
        tiers = thresholds["vitals"][parameter]
        warning, critical = tiers["warning"], tiers["critical"]
        upper = ("above", "at_or_above")
        lower = ("below", "at_or_below")
        w_up, c_up = _first(warning, upper), _first(critical, upper)
        w_low, c_low = _first(warning, lower), _first(critical, lower)
        if w_up is not None:
            bands.append(charts.Band(f"{label} warning", w_up, c_up, "warning"))
        if c_up is not None:
            bands.append(charts.Band(f"{label} critical", c_up, None, "critical"))
        if w_low is not None:
            bands.append(charts.Band(f"{label} warning (low)", c_low, w_low, "warning"))
        if c_low is not None:
            bands.append(charts.Band(f"{label} critical (low)", None, c_low, "critical"))
    return bands


def _chart_data(session: InfusionSession) -> dict[str, Any]:
    """Everything charts.session_chart_svg draws, from three queries."""
    readings = reading_list(session=session)
    end = session.completed_at
    if end is None and session.started_at is not None:
        end = session.started_at + timedelta(minutes=session.protocol.infusion_minutes)
    return {
        "title": f"Session {session.pk}: {session.protocol.name}",
        "points": [
            charts.ChartPoint(
                at=r.taken_at,
                systolic=r.systolic,
                diastolic=r.diastolic,
                heart_rate=r.heart_rate,
                spo2=r.spo2,
                respiratory_rate=r.respiratory_rate,
            )
            for r in readings
        ],
        "bands": threshold_bands(session_thresholds(session)),
        "infusion_start": session.started_at,
        "infusion_end": end,
        "alerts": [
            charts.ChartAlert(at=a.created_at, parameter=a.parameter, severity=a.severity)
            for a in Alert.objects.filter(session=session).order_by("created_at")
        ],
        "tz": session.clinic.zone,
    }


def _session_read(*, user: User, session_id: object, what: str) -> InfusionSession:
    session = session_get(user=user, session_id=session_id)
    audit_read(actor=user, object_type=what, object_id=session.pk, patient=session.patient_id)
    return session


def session_summary(*, user: User, session_id: object) -> dict[str, Any]:
    """The session's monitoring record in the caller's scope; the read is audited."""
    return _summary(_session_read(user=user, session_id=session_id, what="session_summary"))


def session_chart_data(*, user: User, session_id: object) -> dict[str, Any]:
    """What the session's chart draws, in the caller's scope; the read is audited."""
    return _chart_data(_session_read(user=user, session_id=session_id, what="session_chart"))
