"""The pure rules (monitoring/rules.py) applied to stored readings: a session's effective
thresholds, a model reading as the rules' plain data, the flags as stored JSON. No queries:
the services (ingest, flagging, gates) and the selectors (summary, chart) share it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clinic.thresholds import effective_thresholds
from monitoring import rules
from monitoring.models import (
    VitalReading,
)
from scheduling.models import InfusionSession, SessionStatus

# Vitals are taken from check-in (the baseline) until discharge; watched for missed readings
# while the infusion runs and in recovery.
RECORDING_STATUSES = (SessionStatus.CHECKED_IN, SessionStatus.IN_PROGRESS, SessionStatus.RECOVERY)
WATCHED_STATUSES = (SessionStatus.IN_PROGRESS, SessionStatus.RECOVERY)


def rules_reading(reading: VitalReading) -> rules.Reading:
    return rules.Reading(
        systolic=reading.systolic,
        diastolic=reading.diastolic,
        heart_rate=reading.heart_rate,
        spo2=reading.spo2,
        respiratory_rate=reading.respiratory_rate,
        temperature_c=reading.temperature_c,
        consciousness=reading.consciousness,
        on_oxygen=reading.on_oxygen,
    )


def session_thresholds(session: InfusionSession) -> dict[str, Any]:
    return effective_thresholds(session.protocol.thresholds)


def evaluate(
    reading: VitalReading, *, thresholds: dict[str, Any], baseline: VitalReading | None
) -> list[rules.Flag]:
    return rules.evaluate(
        rules_reading(reading),
        thresholds=thresholds,
        baseline=rules_reading(baseline)
        if baseline is not None and baseline.pk != reading.pk
        else None,
    )


def flags_json(flags: Iterable[rules.Flag]) -> list[dict[str, str]]:
    return [
        {"parameter": f.parameter, "severity": f.severity, "value": f.value, "message": f.message}
        for f in flags
    ]
