"""Every read in the monitoring app, scoped to the caller by the session and clinic selectors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet

from clinic.models import Patient, Role, User
from clinic.selectors import clinic_list
from config.errors import get_or_not_found
from monitoring import charts, instruments
from monitoring.models import (
    AdverseEvent,
    Alert,
    InfusionStart,
    Survey,
    SurveyResponse,
    VitalReading,
)
from scheduling.models import InfusionSession
from scheduling.selectors import session_list

# The reading closest to this long after the start is "the reading at about 40 minutes",
# when BP usually peaks (CLINICAL.md), if one lies within the window.
PEAK_CHECK_AFTER = timedelta(minutes=40)
PEAK_CHECK_WINDOW = timedelta(minutes=10)


def session_for_vitals(*, user: User, session_id: object) -> InfusionSession:
    """The session in the caller's scope, with what the vitals rules read (its protocol) and
    without what they do not (its transitions)."""
    sessions = session_list(user=user).prefetch_related(None).select_related("protocol")
    return get_or_not_found(sessions, pk=session_id)


def session_for_ingest_locked(*, user: User, session_id: object) -> InfusionSession:
    """`session_for_vitals` with its start and baseline reading, the session's row (and only
    its row: no clinic or protocol locked with it, or every ingest of a clinic would queue on
    one row) locked FOR NO KEY UPDATE to the end of the caller's transaction. One query: the
    hot path of ingest."""
    sessions = (
        session_list(user=user)
        .prefetch_related(None)
        .select_related("protocol", "start__baseline_reading")
        .select_for_update(no_key=True, of=("self",))
    )
    return get_or_not_found(sessions, pk=session_id)


def reading_list(*, session: InfusionSession) -> QuerySet[VitalReading]:
    return VitalReading.objects.filter(session=session).order_by("taken_at", "received_at")


def alert_list(*, user: User) -> QuerySet[Alert]:
    if user.effective_role == Role.PATIENT:
        return Alert.objects.none()
    return Alert.objects.filter(clinic__in=clinic_list(user=user))


def alert_get(*, user: User, alert_id: object) -> Alert:
    return get_or_not_found(alert_list(user=user), pk=alert_id)


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


def session_summary(*, session: InfusionSession) -> dict[str, Any]:
    """The monitoring record of a session, for the chart and the clinician's note."""
    readings = list(reading_list(session=session))
    superseded = {r.supersedes_id for r in readings if r.supersedes_id is not None}
    current = [r for r in readings if r.pk not in superseded]
    start = InfusionStart.objects.filter(session=session).select_related("baseline_reading").first()
    transitions = {t.action: t for t in session.transitions.all()}

    def peak(field: str) -> VitalReading | None:
        with_value = [r for r in current if getattr(r, field) is not None]
        return max(with_value, key=lambda r: getattr(r, field), default=None)

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
        "peak": {
            "systolic": _reading(peak("systolic")),
            "diastolic": _reading(peak("diastolic")),
            "heart_rate": _reading(peak("heart_rate")),
        },
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


_CHART_PARAMETERS = {"systolic": "Systolic", "diastolic": "Diastolic", "heart_rate": "Heart rate"}


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


def session_chart_data(*, session: InfusionSession) -> dict[str, Any]:
    """Everything charts.session_chart_svg draws, from three queries."""
    from monitoring.services import session_thresholds

    readings = reading_list(session=session)
    end = session.completed_at
    if end is None and session.started_at is not None:
        end = session.started_at + timedelta(minutes=session.protocol.infusion_minutes)
    return {
        "title": f"Session {session.pk}: {session.protocol.name}",
        "points": [
            charts.ChartPoint(
                at=r.taken_at, systolic=r.systolic, diastolic=r.diastolic, heart_rate=r.heart_rate
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


def survey_list(*, user: User) -> QuerySet[Survey]:
    if user.effective_role == Role.PATIENT:
        return Survey.objects.filter(patient__user=user)
    return Survey.objects.filter(clinic__in=clinic_list(user=user))


def survey_by_token(*, raw_token: str) -> Survey | None:
    from monitoring.services import survey_token_hash

    return (
        Survey.objects.select_related("clinic")
        .filter(token_hash=survey_token_hash(raw_token))
        .first()
    )


def patient_outcomes(*, patient: Patient) -> dict[str, Any]:
    """Per instrument: baseline (the last score before the first infusion; until there is one,
    the latest score), latest, response and remission (CLINICAL.md), and the history."""
    first_infusion = (
        InfusionSession.objects.filter(patient=patient, started_at__isnull=False)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    responses = list(
        SurveyResponse.objects.filter(survey__patient=patient)
        .select_related("survey")
        .order_by("completed_at")
    )
    outcomes: dict[str, Any] = {}
    for code in instruments.INSTRUMENTS:
        mine = [r for r in responses if r.survey.instrument == code]
        latest = mine[-1].total_score if mine else None
        if first_infusion is None:
            baseline = latest
        else:
            before = [r for r in mine if r.completed_at < first_infusion]
            baseline = before[-1].total_score if before else None
        response, remission = instruments.response_and_remission(baseline=baseline, latest=latest)
        outcomes[code] = {
            "baseline": baseline,
            "latest": latest,
            "response": response,
            "remission": remission,
            "scores": [
                {
                    "completed_at": r.completed_at,
                    "total_score": r.total_score,
                    "severity": r.severity,
                }
                for r in mine
            ],
        }
    return outcomes


def patient_outcomes_chart_data(*, patient: Patient) -> dict[str, Any]:
    outcomes = patient_outcomes(patient=patient)
    series, bands, max_scores = {}, {}, {}
    for code, outcome in outcomes.items():
        instrument = instruments.get(code)
        series[instrument.name] = [
            charts.ScorePoint(at=score["completed_at"], total=score["total_score"])
            for score in outcome["scores"]
        ]
        bands[instrument.name] = [
            charts.SeverityBand(label=b.name.replace("_", " "), low=b.low, high=b.high)
            for b in instrument.bands
        ]
        max_scores[instrument.name] = instrument.max_score
    infusions = list(
        InfusionSession.objects.filter(patient=patient, started_at__isnull=False)
        .order_by("started_at")
        .values_list("started_at", flat=True)
    )
    return {
        "title": "PHQ-9 and GAD-7 over time",
        "series": series,
        "bands": bands,
        "max_scores": max_scores,
        "infusion_dates": infusions,
        "tz": patient.clinic.zone,
    }
