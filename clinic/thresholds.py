"""Vital-sign alert thresholds: the defaults of CLINICAL.md, and validation of a protocol's
overrides. Pure Python, no Django: the rules engine (monitoring/rules.py) evaluates them.

A limit is written the way the clinical reference writes it, with its comparison spelled out,
so that every boundary is exact: {"above": 160} means > 160, {"at_or_above": 180} means >= 180,
{"below": 50} means < 50 and {"at_or_below": 100} means <= 100. Each parameter has a `warning`
and a `critical` tier; each tier has at most one upper and one lower limit.
"""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation
from typing import Any

UPPER_COMPARISONS = ("above", "at_or_above")
LOWER_COMPARISONS = ("below", "at_or_below")
TIERS = ("warning", "critical")

# Vital-sign limits, two tiers (CLINICAL.md "Vital-sign alerts").
DEFAULT_VITAL_LIMITS: dict[str, dict[str, dict[str, float]]] = {
    # ED ketamine protocols (SBP > 180 "unstable"; WestJEM 2020); Sanacora 2017 consensus.
    "systolic": {
        "warning": {"above": 160, "at_or_below": 100},
        "critical": {"at_or_above": 180, "at_or_below": 90},
    },
    "diastolic": {
        "warning": {"above": 100},
        "critical": {"at_or_above": 110},
    },
    # NEWS2 pulse bands: 111-130 scores 2, >= 131 scores 3, <= 40 scores 3.
    "heart_rate": {
        "warning": {"above": 110, "below": 50},
        "critical": {"above": 130, "at_or_below": 40},
    },
    # NEWS2 SpO2 scale 1: 92-93 scores 2, <= 91 scores 3.
    "spo2": {
        "warning": {"at_or_below": 93},
        "critical": {"at_or_below": 91},
    },
    # NEWS2 respiration: <= 8 scores 3, >= 25 scores 3.
    "respiratory_rate": {
        "warning": {"below": 12, "above": 20},
        "critical": {"at_or_below": 8, "at_or_above": 25},
    },
    # NEWS2 temperature: >= 39.1 scores 2, 38.1-39.0 scores 1; <= 35.0 scores 3.
    "temperature": {
        "warning": {"at_or_above": 38.1, "at_or_below": 36.0},
        "critical": {"at_or_above": 39.1, "at_or_below": 35.0},
    },
}

# Rise from the session's baseline, mmHg, warning tier. Spravato (esketamine) label: a
# clinically significant rise is >= 40 systolic and/or >= 25 diastolic.
DEFAULT_BASELINE_RISE = {"systolic_at_or_above": 40, "diastolic_at_or_above": 25}

# Pre-start BP gate: a baseline above either blocks the start unless a clinician overrides.
DEFAULT_PRE_START_GATE = {"systolic_above": 140, "diastolic_above": 90}

# NEWS2 aggregate response bands (RCP NEWS2, 2017): >= 5 (or any single 3) urgent review,
# >= 7 emergency response.
DEFAULT_NEWS2 = {"warning_at_or_above": 5, "critical_at_or_above": 7}

DEFAULT_THRESHOLDS: dict[str, Any] = {
    "vitals": DEFAULT_VITAL_LIMITS,
    "baseline_rise": DEFAULT_BASELINE_RISE,
    "pre_start_gate": DEFAULT_PRE_START_GATE,
    "news2": DEFAULT_NEWS2,
}

# What a reading can physically be (CLINICAL.md "Plausibility"); limits must lie within.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "systolic": (50, 300),
    "diastolic": (20, 200),
    "heart_rate": (20, 250),
    "spo2": (50, 100),
    "respiratory_rate": (4, 60),
    "temperature": (30.0, 45.0),
}


class ThresholdError(ValueError):
    """An override that does not make sense; `errors` maps a dotted path to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("Invalid thresholds.")
        self.errors = errors


def _number(value: Any) -> Decimal | None:
    # Numbers only: a JSON string "160" would be compared as text by whoever reads it later.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _validate_tier(
    path: str, tier: Any, low: float, high: float, errors: dict[str, list[str]]
) -> None:
    if not isinstance(tier, dict) or not tier:
        errors[path] = ["Must be an object with at least one limit."]
        return
    unknown = set(tier) - set(UPPER_COMPARISONS) - set(LOWER_COMPARISONS)
    if unknown:
        errors[path] = [f"Unknown comparison(s): {', '.join(sorted(unknown))}."]
        return
    if (
        sum(key in tier for key in UPPER_COMPARISONS) > 1
        or sum(key in tier for key in LOWER_COMPARISONS) > 1
    ):
        errors[path] = ["At most one upper and one lower limit."]
        return
    for key, value in tier.items():
        number = _number(value)
        if number is None:
            errors[f"{path}.{key}"] = ["Must be a number."]
        elif not Decimal(str(low)) <= number <= Decimal(str(high)):
            errors[f"{path}.{key}"] = [f"Must be between {low} and {high}."]


def _upper(tier: dict[str, Any]) -> Decimal | None:
    for key in UPPER_COMPARISONS:
        if key in tier:
            return _number(tier[key])
    return None


def _lower(tier: dict[str, Any]) -> Decimal | None:
    for key in LOWER_COMPARISONS:
        if key in tier:
            return _number(tier[key])
    return None


def _validate_positive_numbers(
    path: str, value: Any, keys: tuple[str, ...], errors: dict[str, list[str]]
) -> None:
    if not isinstance(value, dict):
        errors[path] = ["Must be an object."]
        return
    unknown = set(value) - set(keys)
    if unknown:
        errors[path] = [f"Unknown key(s): {', '.join(sorted(unknown))}."]
    for key in keys:
        if key in value:
            number = _number(value[key])
            if number is None or number <= 0 or number > 300:
                errors[f"{path}.{key}"] = ["Must be a number above 0 and at most 300."]


def _merge_tier(default: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """An override replaces a tier's upper limit, its lower limit, or both; the side it does
    not name stays as it was (raising a critical upper limit keeps the critical lower one)."""
    merged = dict(default)
    for side in (UPPER_COMPARISONS, LOWER_COMPARISONS):
        if any(key in override for key in side):
            for key in side:
                merged.pop(key, None)
    merged.update(override)
    return merged


def effective_thresholds(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The defaults with a protocol's overrides laid over them, limit by limit."""
    result = copy.deepcopy(DEFAULT_THRESHOLDS)
    overrides = overrides or {}
    for parameter, tiers in overrides.get("vitals", {}).items():
        for tier_name, tier in tiers.items():
            vitals = result["vitals"][parameter]
            vitals[tier_name] = _merge_tier(vitals[tier_name], tier)
    for section in ("baseline_rise", "pre_start_gate", "news2"):
        result[section].update(overrides.get(section, {}))
    return result


def validate_threshold_overrides(overrides: Any) -> dict[str, Any]:
    """Check a protocol's overrides; return them unchanged, or raise ThresholdError."""
    errors: dict[str, list[str]] = {}
    if not isinstance(overrides, dict):
        raise ThresholdError({"thresholds": ["Must be an object."]})
    unknown = set(overrides) - set(DEFAULT_THRESHOLDS)
    if unknown:
        raise ThresholdError({"thresholds": [f"Unknown section(s): {', '.join(sorted(unknown))}."]})

    vitals = overrides.get("vitals", {})
    if not isinstance(vitals, dict):
        errors["vitals"] = ["Must be an object."]
        vitals = {}
    for parameter, tiers in vitals.items():
        if parameter not in DEFAULT_VITAL_LIMITS:
            errors[f"vitals.{parameter}"] = ["Unknown parameter."]
            continue
        if not isinstance(tiers, dict) or not tiers or set(tiers) - set(TIERS):
            errors[f"vitals.{parameter}"] = ["Must be an object with `warning` and/or `critical`."]
            continue
        low, high = PLAUSIBLE_RANGES[parameter]
        for tier_name, tier in tiers.items():
            _validate_tier(f"vitals.{parameter}.{tier_name}", tier, low, high, errors)

    _validate_positive_numbers(
        "baseline_rise", overrides.get("baseline_rise", {}), tuple(DEFAULT_BASELINE_RISE), errors
    )
    _validate_positive_numbers(
        "pre_start_gate", overrides.get("pre_start_gate", {}), tuple(DEFAULT_PRE_START_GATE), errors
    )
    news2 = overrides.get("news2", {})
    if isinstance(news2, dict):
        unknown = set(news2) - set(DEFAULT_NEWS2)
        if unknown:
            errors["news2"] = [f"Unknown key(s): {', '.join(sorted(unknown))}."]
        for key in DEFAULT_NEWS2:
            if key in news2 and not (
                isinstance(news2[key], int)
                and not isinstance(news2[key], bool)
                and 1 <= news2[key] <= 20
            ):
                errors[f"news2.{key}"] = ["Must be a whole number from 1 to 20."]
    else:
        errors["news2"] = ["Must be an object."]
    if errors:
        raise ThresholdError(errors)

    # The critical tier must be at least as extreme as the warning tier, or a critical reading
    # would be reported as a mere warning.
    merged = effective_thresholds(overrides)
    for parameter, tiers in merged["vitals"].items():
        warning, critical = tiers["warning"], tiers["critical"]
        w_up, c_up, w_low, c_low = (
            _upper(warning),
            _upper(critical),
            _lower(warning),
            _lower(critical),
        )
        if w_up is not None and c_up is not None and c_up < w_up:
            errors[f"vitals.{parameter}.critical"] = [
                "The critical upper limit is below the warning one."
            ]
        if w_low is not None and c_low is not None and c_low > w_low:
            errors[f"vitals.{parameter}.critical"] = [
                "The critical lower limit is above the warning one."
            ]
        for tier_name, tier in tiers.items():
            upper, lower = _upper(tier), _lower(tier)
            if upper is not None and lower is not None and lower >= upper:
                errors[f"vitals.{parameter}.{tier_name}"] = [
                    "The lower limit must be below the upper one."
                ]
    gate = merged["news2"]
    if gate["critical_at_or_above"] < gate["warning_at_or_above"]:
        errors["news2"] = ["The critical score is below the warning score."]
    if errors:
        raise ThresholdError(errors)
    return overrides
