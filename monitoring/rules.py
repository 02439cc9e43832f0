"""The vital-sign rules engine: which flags a reading raises, the NEWS2 score, the pre-start BP
gate and the discharge check (CLINICAL.md "Vital-sign alerts" and "Session lifecycle").

Pure functions over plain data, no Django, so every boundary can be tested without a database.
The limits come from `clinic.thresholds` (the defaults, or a protocol's effective thresholds);
the NEWS2 bands are fixed by the RCP and are not configurable.

Every comparison is exact: readings and limits are compared as `Decimal`s built from their text
(so a limit of 38.1 means 38.1, not the binary float nearest to it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

SEVERITY_WARNING = "warning"
SEVERITY_CRITICAL = "critical"

# ACVPU as NEWS2 scores it: "alert" scores 0, new confusion and the rest score 3.
CONSCIOUSNESS_LEVELS = ("alert", "confusion", "voice", "pain", "unresponsive")

# Reading field, thresholds key, how a nurse names it, unit as written after the value.
VITAL_PARAMETERS: tuple[tuple[str, str, str, str], ...] = (
    ("systolic", "systolic", "Systolic", " mmHg"),
    ("diastolic", "diastolic", "Diastolic", " mmHg"),
    ("heart_rate", "heart_rate", "Heart rate", "/min"),
    ("spo2", "spo2", "SpO2", "%"),
    ("respiratory_rate", "respiratory_rate", "Respiratory rate", "/min"),
    ("temperature_c", "temperature", "Temperature", " °C"),
)

COMPARISON_WORDS = {
    "above": "above",
    "at_or_above": "at or above",
    "below": "below",
    "at_or_below": "at or below",
}

NEWS2_PARAMETER_NAMES = {
    "respiration": "respiration rate",
    "spo2": "SpO2",
    "air_or_oxygen": "oxygen",
    "systolic": "systolic BP",
    "pulse": "pulse",
    "consciousness": "consciousness",
    "temperature": "temperature",
}


@dataclass(frozen=True)
class Reading:
    """One set of vital signs; a parameter that was not measured is None."""

    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    respiratory_rate: int | None = None
    temperature_c: Decimal | None = None
    consciousness: str | None = None
    on_oxygen: bool = False


@dataclass(frozen=True)
class Flag:
    """A rule a reading broke, for the nurse's screen and for an alert."""

    parameter: str
    severity: str
    value: str
    message: str


# --- Numbers -------------------------------------------------------------------------------------


def _decimal(number: Decimal | float | int) -> Decimal:
    if isinstance(number, Decimal):
        return number
    if isinstance(number, int):
        return Decimal(number)  # exact
    # Through str(): Decimal(38.1) would be 38.10000000000000142..., not 38.1.
    return Decimal(str(number))


def _text(number: Decimal | float | int) -> str:
    """A number as a nurse writes it: 180, 38.1 (not 180.0 or 1.8E+2)."""
    value = _decimal(number)
    if value == value.to_integral_value():
        return str(int(value))
    return str(value.normalize())


# --- Vital-sign limits ---------------------------------------------------------------------------


def _breached_limit(
    value: Decimal | int, tier: Mapping[str, Any]
) -> tuple[str, Decimal | int] | None:
    """The first comparison of `tier` that `value` breaks, with its limit; None if none."""
    # An int compares exactly with an int or a Decimal: only other numbers need converting.
    number = value if isinstance(value, int) else _decimal(value)
    for comparison, raw_limit in tier.items():
        limit = raw_limit if isinstance(raw_limit, int) else _decimal(raw_limit)
        if comparison == "above":
            breached = number > limit
        elif comparison == "at_or_above":
            breached = number >= limit
        elif comparison == "below":
            breached = number < limit
        elif comparison == "at_or_below":
            breached = number <= limit
        else:
            # Validated thresholds never get here; ignoring a limit silently would hide an alert.
            raise ValueError(f"Unknown comparison {comparison!r} in a threshold tier.")
        if breached:
            return comparison, limit
    return None


def breaches(value: Decimal | int, tier: Mapping[str, Any]) -> bool:
    """Whether `value` breaks any limit of one tier ({"above": 160, "at_or_below": 100}, ...)."""
    return _breached_limit(value, tier) is not None


def vital_flags(reading: Reading, thresholds: Mapping[str, Any]) -> list[Flag]:
    """One flag per measured parameter outside its limits: the critical tier if it is met (and
    then only that, CLINICAL.md), else the warning tier; in the order of VITAL_PARAMETERS."""
    flags = []
    for field, parameter, label, unit in VITAL_PARAMETERS:
        value = getattr(reading, field)
        if value is None:
            continue
        tiers = thresholds["vitals"][parameter]
        for severity in (SEVERITY_CRITICAL, SEVERITY_WARNING):
            breached = _breached_limit(value, tiers.get(severity, {}))
            if breached is None:
                continue
            comparison, limit = breached
            flags.append(
                Flag(
                    parameter=parameter,
                    severity=severity,
                    value=_text(value),
                    message=(
                        f"{label} {_text(value)}{unit} is {COMPARISON_WORDS[comparison]} "
                        f"the {severity} limit of {_text(limit)}."
                    ),
                )
            )
            break
    return flags


def within_warning_limits(reading: Reading, thresholds: Mapping[str, Any]) -> bool:
    """True when no measured parameter breaks its warning or its critical tier (discharge needs
    the last reading within the warning limits, CLINICAL.md "Session lifecycle"). Checking the
    critical tier too matters when a protocol's tiers do not nest."""
    for field, parameter, _label, _unit in VITAL_PARAMETERS:
        value = getattr(reading, field)
        if value is None:
            continue
        tiers = thresholds["vitals"][parameter]
        if any(
            breaches(value, tiers.get(severity, {}))
            for severity in (SEVERITY_WARNING, SEVERITY_CRITICAL)
        ):
            return False
    return True


# --- Rise from baseline --------------------------------------------------------------------------


def baseline_rise_flag(
    reading: Reading, baseline: Reading | None, thresholds: Mapping[str, Any]
) -> Flag | None:
    """A warning when BP has risen from the session's baseline by the configured amount (Spravato
    label: >= 40 systolic and/or >= 25 diastolic is clinically significant). Only components
    measured in both readings count; without a baseline there is nothing to compare."""
    if baseline is None:
        return None
    limits = thresholds["baseline_rise"]
    systolic_rise = (
        reading.systolic - baseline.systolic
        if reading.systolic is not None and baseline.systolic is not None
        else None
    )
    diastolic_rise = (
        reading.diastolic - baseline.diastolic
        if reading.diastolic is not None and baseline.diastolic is not None
        else None
    )
    systolic_limit = _decimal(limits["systolic_at_or_above"])
    diastolic_limit = _decimal(limits["diastolic_at_or_above"])
    if not (
        (systolic_rise is not None and systolic_rise >= systolic_limit)
        or (diastolic_rise is not None and diastolic_rise >= diastolic_limit)
    ):
        return None
    value = "/".join(
        "?" if rise is None else f"{rise:+d}" for rise in (systolic_rise, diastolic_rise)
    )
    return Flag(
        parameter="baseline_rise",
        severity=SEVERITY_WARNING,
        value=value,
        message=(
            f"Blood pressure has risen {value} mmHg from baseline (significant: a rise of "
            f"{_text(systolic_limit)} systolic or {_text(diastolic_limit)} diastolic)."
        ),
    )


# --- NEWS2 ---------------------------------------------------------------------------------------
# RCP NEWS2 (2017), SpO2 scale 1, exactly as the table in CLINICAL.md. Each band is written as
# "at or below its upper edge", walking up from the lowest band, so there are no gaps.


def _respiration_score(rate: int) -> int:
    if rate <= 8:  # <= 8
        return 3
    if rate <= 11:  # 9-11
        return 1
    if rate <= 20:  # 12-20
        return 0
    if rate <= 24:  # 21-24
        return 2
    return 3  # >= 25


def _spo2_score(spo2: int) -> int:
    if spo2 <= 91:  # <= 91
        return 3
    if spo2 <= 93:  # 92-93
        return 2
    if spo2 <= 95:  # 94-95
        return 1
    return 0  # >= 96


def _systolic_score(systolic: int) -> int:
    if systolic <= 90:  # <= 90
        return 3
    if systolic <= 100:  # 91-100
        return 2
    if systolic <= 110:  # 101-110
        return 1
    if systolic <= 219:  # 111-219
        return 0
    return 3  # >= 220


def _pulse_score(pulse: int) -> int:
    if pulse <= 40:  # <= 40
        return 3
    if pulse <= 50:  # 41-50
        return 1
    if pulse <= 90:  # 51-90
        return 0
    if pulse <= 110:  # 91-110
        return 1
    if pulse <= 130:  # 111-130
        return 2
    return 3  # >= 131


def _consciousness_score(consciousness: str) -> int:
    if consciousness not in CONSCIOUSNESS_LEVELS:
        raise ValueError(f"Unknown level of consciousness {consciousness!r}.")
    # Alert scores 0; new confusion, voice, pain or unresponsive score 3.
    return 0 if consciousness == "alert" else 3


def _temperature_score(temperature_c: Decimal) -> int:
    # The bands are written on one decimal (35.1-36.0, 36.1-38.0, ...). A value between two bands
    # (36.05) belongs to the band above the gap: each band is "above the previous upper edge and
    # at or below its own", i.e. <= 35.0, > 35.0 and <= 36.0, > 36.0 and <= 38.0, > 38.0 and
    # <= 39.0, > 39.0. So 35.05 scores 1, 36.05 scores 0, 38.05 scores 1 and 39.05 scores 2.
    temperature = _decimal(temperature_c)
    if temperature <= Decimal("35.0"):  # <= 35.0
        return 3
    if temperature <= Decimal("36.0"):  # 35.1-36.0
        return 1
    if temperature <= Decimal("38.0"):  # 36.1-38.0
        return 0
    if temperature <= Decimal("39.0"):  # 38.1-39.0
        return 1
    return 2  # >= 39.1


def news2_parameter_scores(reading: Reading) -> dict[str, int] | None:
    """The seven NEWS2 parameter scores, or None unless the set is complete (CLINICAL.md: the
    aggregate is computed only over all seven parameters; air or oxygen is always known)."""
    if (
        reading.respiratory_rate is None
        or reading.spo2 is None
        or reading.systolic is None
        or reading.heart_rate is None
        or reading.consciousness is None
        or reading.temperature_c is None
    ):
        return None
    return {
        "respiration": _respiration_score(reading.respiratory_rate),
        "spo2": _spo2_score(reading.spo2),
        "air_or_oxygen": 2 if reading.on_oxygen else 0,  # supplemental oxygen scores 2
        "systolic": _systolic_score(reading.systolic),
        "pulse": _pulse_score(reading.heart_rate),
        "consciousness": _consciousness_score(reading.consciousness),
        "temperature": _temperature_score(reading.temperature_c),
    }


def news2_score(reading: Reading) -> int | None:
    """The NEWS2 aggregate (0-20), or None when the set of parameters is incomplete."""
    scores = news2_parameter_scores(reading)
    return None if scores is None else sum(scores.values())


def news2_flag(reading: Reading, thresholds: Mapping[str, Any]) -> Flag | None:
    """RCP NEWS2 response bands: critical at the critical score (default 7); a warning at the
    warning score (default 5) or when any single parameter scores 3. None when not computable."""
    scores = news2_parameter_scores(reading)
    if scores is None:
        return None
    total = sum(scores.values())
    limits = thresholds["news2"]
    if total >= limits["critical_at_or_above"]:
        return Flag(
            parameter="news2",
            severity=SEVERITY_CRITICAL,
            value=str(total),
            message=(
                f"NEWS2 score {total} is at or above the critical score of "
                f"{limits['critical_at_or_above']}."
            ),
        )
    if total >= limits["warning_at_or_above"]:
        return Flag(
            parameter="news2",
            severity=SEVERITY_WARNING,
            value=str(total),
            message=(
                f"NEWS2 score {total} is at or above the warning score of "
                f"{limits['warning_at_or_above']}."
            ),
        )
    scoring_three = [NEWS2_PARAMETER_NAMES[name] for name, score in scores.items() if score == 3]
    if scoring_three:
        return Flag(
            parameter="news2",
            severity=SEVERITY_WARNING,
            value=str(total),
            message=f"NEWS2 score {total}, with a score of 3 for {', '.join(scoring_three)}.",
        )
    return None


# --- Consciousness (ACVPU) ---------------------------------------------------------------------

# CLINICAL.md "Vital-sign alerts": any level but "alert" scores 3 in NEWS2; flagged on its own,
# whatever else the reading lacks (NEWS2 needs all seven values, so an unresponsive patient with
# no temperature taken would otherwise raise nothing). Categorical, so not a protocol threshold.
CONSCIOUSNESS_SEVERITY = {
    "confusion": SEVERITY_WARNING,
    "voice": SEVERITY_WARNING,
    "pain": SEVERITY_CRITICAL,
    "unresponsive": SEVERITY_CRITICAL,
}
CONSCIOUSNESS_WORDS = {
    "confusion": "new confusion",
    "voice": "responds only to voice",
    "pain": "responds only to pain",
    "unresponsive": "unresponsive",
}


def consciousness_flag(reading: Reading) -> Flag | None:
    severity = CONSCIOUSNESS_SEVERITY.get(reading.consciousness or "")
    if severity is None or reading.consciousness is None:
        return None
    return Flag(
        parameter="consciousness",
        severity=severity,
        value=reading.consciousness,
        message=f"Consciousness: {CONSCIOUSNESS_WORDS[reading.consciousness]} (ACVPU).",
    )


# --- Everything for one reading ------------------------------------------------------------------


def evaluate(
    reading: Reading, *, thresholds: Mapping[str, Any], baseline: Reading | None
) -> list[Flag]:
    """All flags of one reading: the vital signs in a fixed order, then consciousness, then the
    rise from baseline, then NEWS2."""
    flags = vital_flags(reading, thresholds)
    consciousness = consciousness_flag(reading)
    if consciousness is not None:
        flags.append(consciousness)
    rise = baseline_rise_flag(reading, baseline, thresholds)
    if rise is not None:
        flags.append(rise)
    news2 = news2_flag(reading, thresholds)
    if news2 is not None:
        flags.append(news2)
    return flags


def pre_start_gate_failures(baseline: Reading, thresholds: Mapping[str, Any]) -> list[str]:
    """Why the baseline blocks the start: systolic or diastolic strictly above the gate (CLINICAL.md
    "Pre-start BP gate", default 140/90). A component that was not measured is not judged here."""
    gate = thresholds["pre_start_gate"]
    failures = []
    if baseline.systolic is not None and baseline.systolic > _decimal(gate["systolic_above"]):
        failures.append(
            f"Baseline systolic {baseline.systolic} mmHg is above the pre-start limit of "
            f"{_text(gate['systolic_above'])}."
        )
    if baseline.diastolic is not None and baseline.diastolic > _decimal(gate["diastolic_above"]):
        failures.append(
            f"Baseline diastolic {baseline.diastolic} mmHg is above the pre-start limit of "
            f"{_text(gate['diastolic_above'])}."
        )
    return failures
