"""The clinical gates of a session: start (the pre-start checks and the dose), stop (an early
end, with its adverse event), discharge (the criteria of CLINICAL.md). Each adds its checks and
changes the status through scheduling's one owner of it (`session_lock`,
`session_status_change`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.models import Role, User
from clinic.services import (
    audit_creation,
)
from config.errors import ApplicationError, Conflict
from monitoring import rules
from monitoring.judgement import RECORDING_STATUSES, rules_reading, session_thresholds
from monitoring.models import (
    AdverseEvent,
    Alert,
    AlertStatus,
    InfusionStart,
    Severity,
)
from monitoring.selectors.vitals import latest_reading
from monitoring.services.surveys import followups_create
from scheduling.models import InfusionSession, SessionStatus
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


def discharge_failures(session: InfusionSession, now: datetime) -> list[str]:
    """What stands between the patient and going home (CLINICAL.md "Discharge")."""
    failures = []
    last = latest_reading(session)
    if last is None:
        failures.append("There is no reading.")
    else:
        if now - last.taken_at > DISCHARGE_READING_MAX_AGE:
            failures.append("The last reading is more than 15 minutes old.")
        if not rules.within_warning_limits(rules_reading(last), session_thresholds(session)):
            failures.append("The last reading is outside the warning limits.")
    if Alert.objects.filter(
        session=session, status=AlertStatus.OPEN, severity=Severity.CRITICAL
    ).exists():
        failures.append("A critical alert is still open.")
    if not session.escort_confirmed:
        failures.append("No escort or driver was confirmed.")
    return failures


@transaction.atomic(durable=True)
def session_discharge(*, actor: User, session: InfusionSession) -> InfusionSession:
    session = session_lock(session, "discharge")
    failures = discharge_failures(session, timezone.now())
    if failures:
        raise Conflict(
            "discharge_criteria_unmet",
            "Not ready for discharge: " + " ".join(failures),
            extra={"failures": failures},
        )
    session_status_change(session, action="discharge", actor=actor)
    followups_create(session)
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
