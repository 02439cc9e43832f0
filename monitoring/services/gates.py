"""The clinical gates of a session: start (the pre-start checks and the dose), stop (an early
end, with its adverse event), discharge (the criteria of CLINICAL.md). Each adds its checks and
changes the status through scheduling's one owner of it (`session_lock`,
`session_status_change`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_creation, audit_record
from clinic.models import Role, User
from config.errors import ApplicationError, Conflict, Forbidden, Invalid
from monitoring import rules
from monitoring.judgement import RECORDING_STATUSES, rules_reading, session_thresholds
from monitoring.models import (
    AdverseEvent,
    Alert,
    AlertStatus,
    InfusionStart,
    Severity,
)
from monitoring.selectors.vitals import latest_reading, latest_values
from monitoring.services.surveys import followups_create
from scheduling.models import DischargeArrangement, InfusionSession, SessionStatus
from scheduling.services import session_check_opened, session_lock, session_status_change

# Discharge: the last reading must be at most this old (CLINICAL.md).
DISCHARGE_READING_MAX_AGE = timedelta(minutes=15)

# --- Session gates -------------------------------------------------------------------------------


def _gate_failure(message: str, failures: list[str], **extra: Any) -> ApplicationError:
    return Conflict(
        "pre_start_check_failed",
        message,
        extra={"failures": failures, **extra},
    )


@transaction.atomic(durable=True)
def session_start(
    *, actor: User, session: InfusionSession, override_reason: str = ""
) -> InfusionSession:
    """Start the infusion: needs a baseline taken at or after check-in, within the pre-start
    gate (CLINICAL.md), unless a clinician overrides with a written reason (both are kept).
    Records the dose from the most recent weight."""
    session = session_lock(session, "start")
    now = timezone.now()
    session_check_opened(session, "start", now)
    baseline = latest_reading(session, since=session.checked_in_at)
    if baseline is None:
        raise _gate_failure(
            "A baseline reading taken at or after check-in is needed before the start.",
            ["no baseline reading"],
        )
    thresholds = session_thresholds(session)
    failures = rules.pre_start_gate_failures(rules_reading(baseline), thresholds)
    if baseline.systolic is None and baseline.diastolic is None:
        failures.append("The baseline has no blood pressure.")
    if session.fasting_confirmed is False:
        failures.append("Fasting was not confirmed at check-in.")
    override_reason = override_reason.strip()
    if failures:
        if not override_reason:
            raise _gate_failure(
                "The pre-start checks failed: " + " ".join(failures),
                failures,
                baseline=str(baseline.pk),
            )
        if actor.effective_role != Role.CLINICIAN:
            raise _gate_failure(
                "Only a clinician may override the pre-start checks.",
                failures,
                baseline=str(baseline.pk),
            )
    weight = session.weight_kg or session.patient.weight_kg
    dose = (session.protocol.dose_mg_per_kg * weight).quantize(Decimal("0.01"), ROUND_HALF_UP)
    InfusionStart.objects.create(
        session=session,
        baseline_reading=baseline,
        weight_kg=weight,
        dose_mg_per_kg=session.protocol.dose_mg_per_kg,
        dose_mg=dose,
        gate_failures=failures,
        override_reason=override_reason if failures else "",
        override_by=actor if failures else None,
        started_by=actor,
        started_at=now,
    )
    session.started_at = now
    return session_status_change(
        session,
        action="start",
        actor=actor,
        reason=override_reason if failures else "",
        details={"dose_mg": str(dose), "weight_kg": str(weight), "gate_failures": failures},
        fields=("started_at",),
    )


def _adverse_event(session: InfusionSession, actor: User, event: dict[str, Any]) -> AdverseEvent:
    adverse = AdverseEvent.objects.create(session=session, recorded_by=actor, **event)
    audit_creation(
        actor=actor, object_type="adverse_event", object_id=adverse.pk, patient=session.patient_id
    )
    return adverse


@transaction.atomic(durable=True)
def session_stop(
    *,
    actor: User,
    session: InfusionSession,
    reason: str,
    adverse_event: dict[str, Any] | None = None,
) -> InfusionSession:
    """End an infusion early, with a reason and (usually) the adverse event that caused it."""
    session = session_lock(session, "stop")
    details: dict[str, Any] = {}
    if adverse_event:
        details["adverse_event"] = _adverse_event(session, actor, adverse_event).pk
    return session_status_change(
        session, action="stop", actor=actor, reason=reason, details=details
    )


# CLINICAL.md "Discharge": the measurements a full set must hold, and the ones judged against
# the warning limits (every monitored one the window has).
DISCHARGE_REQUIRED = ("systolic", "diastolic", "heart_rate", "spo2")
DISCHARGE_JUDGED = (*DISCHARGE_REQUIRED, "respiratory_rate", "temperature_c", "consciousness")
MEASUREMENT_WORDS = {
    "systolic": "systolic BP",
    "diastolic": "diastolic BP",
    "heart_rate": "heart rate",
    "spo2": "SpO2",
}


@dataclass(frozen=True)
class DischargeCheck:
    """The unmet criteria: their codes (API.md) and a sentence for each."""

    criteria: list[str]
    failures: list[str]


def discharge_check(session: InfusionSession, now: datetime) -> DischargeCheck:
    """What stands between the patient and going home with their escort (CLINICAL.md
    "Discharge"): recovery time since the infusion ended, a full recent set of vital signs
    within the warning limits, consciousness alert, no open critical alert, an escort."""
    unmet: list[tuple[str, str]] = []
    ended = session.completed_at
    recovery = timedelta(minutes=session.protocol.recovery_minutes)
    if ended is None or now - ended < recovery:
        left = recovery if ended is None else recovery - (now - ended)
        unmet.append(
            (
                "recovery_time",
                f"Recovery lasts {session.protocol.recovery_minutes} minutes after the "
                f"infusion; {max(1, -(-int(left.total_seconds()) // 60))} minute(s) remain.",
            )
        )
    latest = latest_values(session, since=now - DISCHARGE_READING_MAX_AGE, fields=DISCHARGE_JUDGED)
    missing = [MEASUREMENT_WORDS[name] for name in DISCHARGE_REQUIRED if name not in latest]
    if missing:
        unmet.append(
            (
                "vitals_recent",
                "No " + ", ".join(missing) + " taken in the last 15 minutes: a full set "
                "(blood pressure, heart rate, SpO2) is needed.",
            )
        )
    values = {name: value for name, (value, _) in latest.items()}
    reading = rules.Reading(**{k: v for k, v in values.items() if k != "consciousness"})
    # A vital flag is exactly a breach of a warning or critical limit (rules.within_warning_
    # limits): the flags are the criterion and its explanation at once.
    out_of_limits = rules.vital_flags(reading, session_thresholds(session))
    if out_of_limits:
        flagged = " ".join(flag.message for flag in out_of_limits)
        unmet.append(("vitals_in_limits", f"Not within the warning limits: {flagged}"))
    if values.get("consciousness") != "alert":
        unmet.append(
            (
                "consciousness",
                "Consciousness has not been recorded as alert in the last 15 minutes.",
            )
        )
    if Alert.objects.filter(
        session=session, status=AlertStatus.OPEN, severity=Severity.CRITICAL
    ).exists():
        unmet.append(("open_critical_alert", "A critical alert is still open."))
    if not session.escort_confirmed:
        unmet.append(("escort", "No escort or driver was confirmed."))
    return DischargeCheck([code for code, _ in unmet], [sentence for _, sentence in unmet])


@transaction.atomic(durable=True)
def session_discharge(
    *,
    actor: User,
    session: InfusionSession,
    arrangement: str = DischargeArrangement.HOME_WITH_ESCORT,
    reason: str = "",
) -> InfusionSession:
    """Discharge home with the escort once every criterion is met; or, by a clinician with a
    written reason, to another arrangement (ambulance, admission), with the unmet criteria kept
    in the record rather than blocking the transfer."""
    reason = reason.strip()
    if arrangement != DischargeArrangement.HOME_WITH_ESCORT:
        if actor.effective_role != Role.CLINICIAN:
            raise Forbidden(
                "permission_denied", "Only a clinician may discharge to another arrangement."
            )
        if not reason:
            raise Invalid.field("reason", "Say why the patient leaves this way.")
    session = session_lock(session, "discharge")
    check = discharge_check(session, timezone.now())
    if check.criteria and arrangement == DischargeArrangement.HOME_WITH_ESCORT:
        raise Conflict(
            "discharge_criteria_unmet",
            "Not ready for discharge: " + " ".join(check.failures),
            extra={"failures": check.failures, "criteria": check.criteria},
        )
    session.discharge_arrangement = arrangement
    session.discharge_reason = reason
    session_status_change(
        session,
        action="discharge",
        actor=actor,
        reason=reason,
        details={"arrangement": arrangement, "criteria_unmet": check.criteria},
        fields=("discharge_arrangement", "discharge_reason"),
    )
    followups_create(session)
    return session


@transaction.atomic(durable=True)
def session_escort_confirm(
    *, actor: User, session: InfusionSession, name: str = "", phone: str = ""
) -> InfusionSession:
    """A nurse (or clinician) confirms the escort after check-in, until discharge; who and when
    are kept."""
    session = InfusionSession.objects.select_for_update(of=("self",), no_key=True).get(
        pk=session.pk
    )
    if session.status not in RECORDING_STATUSES:
        raise Conflict(
            "invalid_transition",
            "An escort is confirmed from check-in until discharge; this session is "
            f"{session.status.replace('_', ' ')}.",
            extra={"status": session.status},
        )
    session.escort_confirmed = True
    session.escort_confirmed_by = actor
    session.escort_confirmed_at = timezone.now()
    session.escort_name = name.strip()
    session.escort_phone = phone.strip()
    session.save(
        update_fields=[
            "escort_confirmed",
            "escort_confirmed_by",
            "escort_confirmed_at",
            "escort_name",
            "escort_phone",
        ]
    )
    audit_record(
        actor=actor,
        action="escort_confirm",
        object_type="session",
        object_id=session.pk,
        patient=session.patient_id,
    )
    return session


@transaction.atomic(durable=True)
def adverse_event_record(
    *, actor: User, session: InfusionSession, event: dict[str, Any]
) -> AdverseEvent:
    session = InfusionSession.objects.select_for_update(no_key=True).get(pk=session.pk)
    if session.status not in (*RECORDING_STATUSES, SessionStatus.STOPPED, SessionStatus.DISCHARGED):
        raise Conflict(
            "session_not_active",
            "Adverse events are recorded for a session that has begun.",
        )
    return _adverse_event(session, actor, event)
