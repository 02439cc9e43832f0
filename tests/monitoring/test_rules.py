"""The vital-sign rules engine (monitoring.rules) at every boundary of CLINICAL.md.

Pure rules over plain data: no database. Unless a test says otherwise the thresholds are the
defaults (clinic.thresholds.DEFAULT_THRESHOLDS).
"""

import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.thresholds import DEFAULT_THRESHOLDS, effective_thresholds
from monitoring.rules import (
    CONSCIOUSNESS_LEVELS,
    SEVERITY_CRITICAL,
    SEVERITY_WARNING,
    Flag,
    Reading,
    baseline_rise_flag,
    breaches,
    evaluate,
    news2_flag,
    news2_parameter_scores,
    news2_score,
    pre_start_gate_failures,
    vital_flags,
    within_warning_limits,
)

W = SEVERITY_WARNING
C = SEVERITY_CRITICAL
REPO_ROOT = Path(__file__).resolve().parents[2]

# Every parameter normal: no flag, NEWS2 0.
NORMAL = Reading(
    systolic=120,
    diastolic=80,
    heart_rate=72,
    spo2=98,
    respiratory_rate=14,
    temperature_c=Decimal("36.8"),
    consciousness="alert",
    on_oxygen=False,
)
BASELINE = Reading(systolic=120, diastolic=80)


def severity_of(flags: list[Flag], parameter: str) -> str | None:
    found = [flag.severity for flag in flags if flag.parameter == parameter]
    assert len(found) <= 1, f"more than one {parameter} flag: {flags}"
    return found[0] if found else None


# --- Comparisons -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tier", "expected"),
    [
        (160, {"above": 160}, False),
        (161, {"above": 160}, True),
        (179, {"at_or_above": 180}, False),
        (180, {"at_or_above": 180}, True),
        (50, {"below": 50}, False),
        (49, {"below": 50}, True),
        (101, {"at_or_below": 100}, False),
        (100, {"at_or_below": 100}, True),
        (Decimal("38.0"), {"at_or_above": 38.1}, False),
        (Decimal("38.1"), {"at_or_above": 38.1}, True),
        (Decimal("36.1"), {"at_or_below": 36.0}, False),
        (Decimal("36.0"), {"at_or_below": 36.0}, True),
        (Decimal("36.0"), {"at_or_below": "36.0"}, True),
        (130, {"above": 110, "below": 50}, True),
        (30, {"above": 110, "below": 50}, True),
        (80, {"above": 110, "below": 50}, False),
        (80, {}, False),
    ],
)
def test_breaches_compares_exactly(value: Any, tier: dict[str, Any], expected: bool) -> None:
    assert breaches(value, tier) is expected


def test_breaches_rejects_an_unknown_comparison() -> None:
    # Ignoring a mistyped limit would silently switch an alert off.
    with pytest.raises(ValueError, match="greater_than"):
        breaches(200, {"greater_than": 180})


# --- Vital-sign limits -------------------------------------------------------------------------

VITAL_BOUNDARIES = [
    # systolic: warning > 160 or <= 100, critical >= 180 or <= 90
    ("systolic", 160, None),
    ("systolic", 161, W),
    ("systolic", 179, W),
    ("systolic", 180, C),
    ("systolic", 101, None),
    ("systolic", 100, W),
    ("systolic", 91, W),
    ("systolic", 90, C),
    # diastolic: warning > 100, critical >= 110
    ("diastolic", 100, None),
    ("diastolic", 101, W),
    ("diastolic", 109, W),
    ("diastolic", 110, C),
    ("diastolic", 20, None),
    # heart rate: warning > 110 or < 50, critical > 130 or <= 40
    ("heart_rate", 110, None),
    ("heart_rate", 111, W),
    ("heart_rate", 130, W),
    ("heart_rate", 131, C),
    ("heart_rate", 50, None),
    ("heart_rate", 49, W),
    ("heart_rate", 41, W),
    ("heart_rate", 40, C),
    # SpO2: warning <= 93, critical <= 91
    ("spo2", 100, None),
    ("spo2", 94, None),
    ("spo2", 93, W),
    ("spo2", 92, W),
    ("spo2", 91, C),
    # respiratory rate: warning < 12 or > 20, critical <= 8 or >= 25
    ("respiratory_rate", 12, None),
    ("respiratory_rate", 11, W),
    ("respiratory_rate", 9, W),
    ("respiratory_rate", 8, C),
    ("respiratory_rate", 20, None),
    ("respiratory_rate", 21, W),
    ("respiratory_rate", 24, W),
    ("respiratory_rate", 25, C),
    # temperature: warning >= 38.1 or <= 36.0, critical >= 39.1 or <= 35.0
    ("temperature_c", Decimal("36.1"), None),
    ("temperature_c", Decimal("36.0"), W),
    ("temperature_c", Decimal("35.1"), W),
    ("temperature_c", Decimal("35.0"), C),
    ("temperature_c", Decimal("38.0"), None),
    ("temperature_c", Decimal("38.1"), W),
    ("temperature_c", Decimal("39.0"), W),
    ("temperature_c", Decimal("39.1"), C),
    # between the one-decimal limits: compared exactly with the limit as written
    ("temperature_c", Decimal("36.05"), None),
    ("temperature_c", Decimal("35.05"), W),
    ("temperature_c", Decimal("38.05"), None),
    ("temperature_c", Decimal("39.05"), W),
]

THRESHOLD_KEY = {"temperature_c": "temperature"}


@pytest.mark.parametrize(("field", "value", "expected"), VITAL_BOUNDARIES)
def test_vital_flag_boundaries(field: str, value: Any, expected: str | None) -> None:
    parameter = THRESHOLD_KEY.get(field, field)
    flags = vital_flags(Reading(**{field: value}), DEFAULT_THRESHOLDS)
    assert [flag.severity for flag in flags] == ([expected] if expected else [])
    assert all(flag.parameter == parameter for flag in flags)
    # The same value in an otherwise normal reading flags the same way, and nothing else.
    full = vital_flags(replace(NORMAL, **{field: value}), DEFAULT_THRESHOLDS)
    assert full == flags


@pytest.mark.parametrize(("field", "value", "expected"), VITAL_BOUNDARIES)
def test_within_warning_limits_at_every_boundary(
    field: str, value: Any, expected: str | None
) -> None:
    assert within_warning_limits(replace(NORMAL, **{field: value}), DEFAULT_THRESHOLDS) is (
        expected is None
    )


@pytest.mark.parametrize(
    ("field", "value", "parameter"),
    [
        ("systolic", 250, "systolic"),
        ("systolic", 60, "systolic"),
        ("diastolic", 150, "diastolic"),
        ("heart_rate", 200, "heart_rate"),
        ("heart_rate", 30, "heart_rate"),
        ("spo2", 80, "spo2"),
        ("respiratory_rate", 5, "respiratory_rate"),
        ("respiratory_rate", 40, "respiratory_rate"),
        ("temperature_c", Decimal("41.0"), "temperature"),
        ("temperature_c", Decimal("33.0"), "temperature"),
    ],
)
def test_a_critical_value_raises_only_the_critical_flag(
    field: str, value: Any, parameter: str
) -> None:
    # CLINICAL.md: a reading that meets a critical limit raises only the critical alert.
    flags = vital_flags(Reading(**{field: value}), DEFAULT_THRESHOLDS)
    assert [(flag.parameter, flag.severity) for flag in flags] == [(parameter, C)]


def test_flag_value_and_message_are_for_the_nurse() -> None:
    flags = vital_flags(
        Reading(systolic=182, heart_rate=45, temperature_c=Decimal("38.4")), DEFAULT_THRESHOLDS
    )
    assert flags == [
        Flag(
            parameter="systolic",
            severity=C,
            value="182",
            message="Systolic 182 mmHg is at or above the critical limit of 180.",
        ),
        Flag(
            parameter="heart_rate",
            severity=W,
            value="45",
            message="Heart rate 45/min is below the warning limit of 50.",
        ),
        Flag(
            parameter="temperature",
            severity=W,
            value="38.4",
            message="Temperature 38.4 °C is at or above the warning limit of 38.1.",
        ),
    ]


def test_a_normal_reading_raises_nothing() -> None:
    assert vital_flags(NORMAL, DEFAULT_THRESHOLDS) == []
    assert evaluate(NORMAL, thresholds=DEFAULT_THRESHOLDS, baseline=NORMAL) == []
    assert within_warning_limits(NORMAL, DEFAULT_THRESHOLDS) is True


def test_an_empty_reading_raises_nothing() -> None:
    assert evaluate(Reading(), thresholds=DEFAULT_THRESHOLDS, baseline=BASELINE) == []
    assert within_warning_limits(Reading(), DEFAULT_THRESHOLDS) is True


# --- Overridden thresholds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "value", "expected"),
    [
        ({"vitals": {"systolic": {"warning": {"above": 150}}}}, "systolic", 150, None),
        ({"vitals": {"systolic": {"warning": {"above": 150}}}}, "systolic", 151, W),
        ({"vitals": {"systolic": {"warning": {"above": 150}}}}, "systolic", 90, C),
        ({"vitals": {"systolic": {"critical": {"above": 200}}}}, "systolic", 200, W),
        ({"vitals": {"systolic": {"critical": {"above": 200}}}}, "systolic", 201, C),
        ({"vitals": {"spo2": {"warning": {"below": 90}}}}, "spo2", 90, C),
        (
            {"vitals": {"spo2": {"warning": {"below": 95}, "critical": {"below": 90}}}},
            "spo2",
            94,
            W,
        ),
        (
            {"vitals": {"spo2": {"warning": {"below": 95}, "critical": {"below": 90}}}},
            "spo2",
            90,
            W,
        ),
        (
            {"vitals": {"spo2": {"warning": {"below": 95}, "critical": {"below": 90}}}},
            "spo2",
            89,
            C,
        ),
        (
            {"vitals": {"temperature": {"warning": {"above": 37.5}}}},
            "temperature_c",
            Decimal("37.5"),
            None,
        ),
        (
            {"vitals": {"temperature": {"warning": {"above": 37.5}}}},
            "temperature_c",
            Decimal("37.6"),
            W,
        ),
    ],
)
def test_overridden_vital_limits_are_honoured(
    overrides: dict[str, Any], field: str, value: Any, expected: str | None
) -> None:
    thresholds = effective_thresholds(overrides)
    flags = vital_flags(Reading(**{field: value}), thresholds)
    assert [flag.severity for flag in flags] == ([expected] if expected else [])
    assert within_warning_limits(Reading(**{field: value}), thresholds) is (expected is None)


def test_overridden_baseline_rise_news2_and_gate_are_honoured() -> None:
    thresholds = effective_thresholds(
        {
            "baseline_rise": {"systolic_at_or_above": 20, "diastolic_at_or_above": 10},
            "news2": {"warning_at_or_above": 3, "critical_at_or_above": 4},
            "pre_start_gate": {"systolic_above": 130, "diastolic_above": 85},
        }
    )
    assert baseline_rise_flag(Reading(systolic=139), BASELINE, thresholds) is None
    assert baseline_rise_flag(Reading(systolic=140), BASELINE, thresholds) is not None
    assert baseline_rise_flag(Reading(diastolic=89), BASELINE, thresholds) is None
    assert baseline_rise_flag(Reading(diastolic=90), BASELINE, thresholds) is not None
    # Pulse 91-110 and SpO2 94-95 score 1 each; respiration 21-24 scores 2.
    assert news2_flag(replace(NORMAL, heart_rate=95, spo2=95), thresholds) is None
    three = news2_flag(replace(NORMAL, heart_rate=95, respiratory_rate=21), thresholds)
    assert three is not None
    assert three.severity == W
    four = news2_flag(replace(NORMAL, heart_rate=95, spo2=95, respiratory_rate=21), thresholds)
    assert four is not None
    assert four.severity == C
    assert pre_start_gate_failures(Reading(systolic=130, diastolic=85), thresholds) == []
    assert len(pre_start_gate_failures(Reading(systolic=131, diastolic=86), thresholds)) == 2


def test_rules_read_whatever_thresholds_they_are_given() -> None:
    # Independent of how effective_thresholds merges: a hand-built thresholds dict.
    thresholds = {
        **DEFAULT_THRESHOLDS,
        "vitals": {
            **DEFAULT_THRESHOLDS["vitals"],
            "heart_rate": {"warning": {"at_or_above": 100}, "critical": {"above": 150}},
        },
    }
    assert vital_flags(Reading(heart_rate=99), thresholds) == []
    assert [f.severity for f in vital_flags(Reading(heart_rate=100), thresholds)] == [W]
    assert [f.severity for f in vital_flags(Reading(heart_rate=150), thresholds)] == [W]
    assert [f.severity for f in vital_flags(Reading(heart_rate=151), thresholds)] == [C]
    # No lower limit in this protocol.
    assert vital_flags(Reading(heart_rate=30), thresholds) == []
    assert within_warning_limits(Reading(heart_rate=30), thresholds) is True


# --- Rise from baseline ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reading", "expected_value"),
    [
        (Reading(systolic=159, diastolic=104), None),  # +39/+24
        (Reading(systolic=160, diastolic=80), "+40/+0"),
        (Reading(systolic=159, diastolic=105), "+39/+25"),
        (Reading(systolic=162, diastolic=100), "+42/+20"),
        (Reading(systolic=170, diastolic=110), "+50/+30"),
        (Reading(systolic=100, diastolic=60), None),  # a fall is not a rise
        (Reading(systolic=100, diastolic=105), "-20/+25"),
        (Reading(systolic=160), "+40/?"),
        (Reading(diastolic=105), "?/+25"),
        (Reading(systolic=159), None),
        (Reading(diastolic=104), None),
        (Reading(heart_rate=120), None),
    ],
)
def test_baseline_rise_boundaries(reading: Reading, expected_value: str | None) -> None:
    flag = baseline_rise_flag(reading, BASELINE, DEFAULT_THRESHOLDS)
    if expected_value is None:
        assert flag is None
    else:
        assert flag is not None
        assert (flag.parameter, flag.severity, flag.value) == ("baseline_rise", W, expected_value)
        assert expected_value in flag.message


def test_baseline_rise_counts_only_components_present_in_both() -> None:
    baseline = Reading(systolic=120)
    assert baseline_rise_flag(
        Reading(systolic=120, diastolic=200), baseline, DEFAULT_THRESHOLDS
    ) is (None)
    flag = baseline_rise_flag(Reading(systolic=160, diastolic=200), baseline, DEFAULT_THRESHOLDS)
    assert flag is not None
    assert flag.value == "+40/?"


def test_no_baseline_no_rise() -> None:
    assert baseline_rise_flag(Reading(systolic=250), None, DEFAULT_THRESHOLDS) is None


# --- NEWS2 -------------------------------------------------------------------------------------

NEWS2_BANDS = [
    # respiration: <= 8: 3, 9-11: 1, 12-20: 0, 21-24: 2, >= 25: 3
    ("respiratory_rate", 4, "respiration", 3),
    ("respiratory_rate", 8, "respiration", 3),
    ("respiratory_rate", 9, "respiration", 1),
    ("respiratory_rate", 11, "respiration", 1),
    ("respiratory_rate", 12, "respiration", 0),
    ("respiratory_rate", 20, "respiration", 0),
    ("respiratory_rate", 21, "respiration", 2),
    ("respiratory_rate", 24, "respiration", 2),
    ("respiratory_rate", 25, "respiration", 3),
    ("respiratory_rate", 60, "respiration", 3),
    # SpO2 scale 1: <= 91: 3, 92-93: 2, 94-95: 1, >= 96: 0
    ("spo2", 50, "spo2", 3),
    ("spo2", 91, "spo2", 3),
    ("spo2", 92, "spo2", 2),
    ("spo2", 93, "spo2", 2),
    ("spo2", 94, "spo2", 1),
    ("spo2", 95, "spo2", 1),
    ("spo2", 96, "spo2", 0),
    ("spo2", 100, "spo2", 0),
    # air or oxygen: air 0, oxygen 2
    ("on_oxygen", False, "air_or_oxygen", 0),
    ("on_oxygen", True, "air_or_oxygen", 2),
    # systolic: <= 90: 3, 91-100: 2, 101-110: 1, 111-219: 0, >= 220: 3
    ("systolic", 50, "systolic", 3),
    ("systolic", 90, "systolic", 3),
    ("systolic", 91, "systolic", 2),
    ("systolic", 100, "systolic", 2),
    ("systolic", 101, "systolic", 1),
    ("systolic", 110, "systolic", 1),
    ("systolic", 111, "systolic", 0),
    ("systolic", 219, "systolic", 0),
    ("systolic", 220, "systolic", 3),
    ("systolic", 300, "systolic", 3),
    # pulse: <= 40: 3, 41-50: 1, 51-90: 0, 91-110: 1, 111-130: 2, >= 131: 3
    ("heart_rate", 20, "pulse", 3),
    ("heart_rate", 40, "pulse", 3),
    ("heart_rate", 41, "pulse", 1),
    ("heart_rate", 50, "pulse", 1),
    ("heart_rate", 51, "pulse", 0),
    ("heart_rate", 90, "pulse", 0),
    ("heart_rate", 91, "pulse", 1),
    ("heart_rate", 110, "pulse", 1),
    ("heart_rate", 111, "pulse", 2),
    ("heart_rate", 130, "pulse", 2),
    ("heart_rate", 131, "pulse", 3),
    ("heart_rate", 250, "pulse", 3),
    # consciousness: alert 0; new confusion, voice, pain, unresponsive 3
    ("consciousness", "alert", "consciousness", 0),
    ("consciousness", "confusion", "consciousness", 3),
    ("consciousness", "voice", "consciousness", 3),
    ("consciousness", "pain", "consciousness", 3),
    ("consciousness", "unresponsive", "consciousness", 3),
    # temperature: <= 35.0: 3, 35.1-36.0: 1, 36.1-38.0: 0, 38.1-39.0: 1, >= 39.1: 2
    ("temperature_c", Decimal("30.0"), "temperature", 3),
    ("temperature_c", Decimal("35.0"), "temperature", 3),
    ("temperature_c", Decimal("35.1"), "temperature", 1),
    ("temperature_c", Decimal("36.0"), "temperature", 1),
    ("temperature_c", Decimal("36.1"), "temperature", 0),
    ("temperature_c", Decimal("38.0"), "temperature", 0),
    ("temperature_c", Decimal("38.1"), "temperature", 1),
    ("temperature_c", Decimal("39.0"), "temperature", 1),
    ("temperature_c", Decimal("39.1"), "temperature", 2),
    ("temperature_c", Decimal("45.0"), "temperature", 2),
    # Between the one-decimal bands a value belongs to the band above the gap
    # (<= 35.0, > 35.0 and <= 36.0, > 36.0 and <= 38.0, > 38.0 and <= 39.0, > 39.0).
    ("temperature_c", Decimal("35.01"), "temperature", 1),
    ("temperature_c", Decimal("35.05"), "temperature", 1),
    ("temperature_c", Decimal("36.05"), "temperature", 0),
    ("temperature_c", Decimal("38.05"), "temperature", 1),
    ("temperature_c", Decimal("39.05"), "temperature", 2),
]


@pytest.mark.parametrize(("field", "value", "score_key", "expected"), NEWS2_BANDS)
def test_news2_band_edges(field: str, value: Any, score_key: str, expected: int) -> None:
    scores = news2_parameter_scores(replace(NORMAL, **{field: value}))
    assert scores is not None
    assert set(scores) == {
        "respiration",
        "spo2",
        "air_or_oxygen",
        "systolic",
        "pulse",
        "consciousness",
        "temperature",
    }
    assert scores[score_key] == expected
    # Every other parameter of NORMAL scores 0, so the aggregate is this parameter's score.
    assert sum(scores.values()) == expected
    assert news2_score(replace(NORMAL, **{field: value})) == expected


@pytest.mark.parametrize(
    ("changes", "expected_score", "expected_severity"),
    [
        ({}, 0, None),
        # 2 + 1 + 1 = 4: below the warning score, no single 3
        ({"respiratory_rate": 21, "spo2": 94, "heart_rate": 91}, 4, None),
        # + temperature 1 = 5
        (
            {
                "respiratory_rate": 21,
                "spo2": 94,
                "heart_rate": 91,
                "temperature_c": Decimal("38.1"),
            },
            5,
            W,
        ),
        # oxygen 2 + respiration 2 + pulse 2 = 6
        ({"on_oxygen": True, "respiratory_rate": 21, "heart_rate": 111}, 6, W),
        # + SpO2 1 = 7
        ({"on_oxygen": True, "respiratory_rate": 21, "heart_rate": 111, "spo2": 94}, 7, C),
        # a single parameter scoring 3, aggregate 3
        ({"consciousness": "voice"}, 3, W),
        ({"systolic": 220}, 3, W),
        # a 3 and an aggregate of 4
        ({"respiratory_rate": 8, "spo2": 95}, 4, W),
        # a 3 in a critical aggregate is critical
        ({"consciousness": "pain", "respiratory_rate": 21, "on_oxygen": True}, 7, C),
        # the highest aggregate
        (
            {
                "respiratory_rate": 5,
                "spo2": 85,
                "on_oxygen": True,
                "systolic": 80,
                "heart_rate": 140,
                "consciousness": "unresponsive",
                "temperature_c": Decimal("34.0"),
            },
            20,
            C,
        ),
    ],
)
def test_news2_aggregate_bands(
    changes: dict[str, Any], expected_score: int, expected_severity: str | None
) -> None:
    reading = replace(NORMAL, **changes)
    assert news2_score(reading) == expected_score
    flag = news2_flag(reading, DEFAULT_THRESHOLDS)
    if expected_severity is None:
        assert flag is None
    else:
        assert flag is not None
        assert (flag.parameter, flag.severity, flag.value) == (
            "news2",
            expected_severity,
            str(expected_score),
        )
        assert flag.message


def test_news2_single_three_message_names_the_parameter() -> None:
    flag = news2_flag(replace(NORMAL, consciousness="confusion"), DEFAULT_THRESHOLDS)
    assert flag is not None
    assert "consciousness" in flag.message


@pytest.mark.parametrize(
    "missing",
    ["respiratory_rate", "spo2", "systolic", "heart_rate", "consciousness", "temperature_c"],
)
def test_news2_needs_a_complete_set(missing: str) -> None:
    # A reading that would score 20 if complete: still nothing without one parameter.
    worst = replace(
        NORMAL,
        respiratory_rate=5,
        spo2=85,
        on_oxygen=True,
        systolic=80,
        heart_rate=140,
        consciousness="unresponsive",
        temperature_c=Decimal("34.0"),
    )
    assert news2_score(worst) == 20
    absent: dict[str, Any] = {missing: None}
    reading = replace(worst, **absent)
    assert news2_parameter_scores(reading) is None
    assert news2_score(reading) is None
    assert news2_flag(reading, DEFAULT_THRESHOLDS) is None
    flags = evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=None)
    assert "news2" not in {flag.parameter for flag in flags}


def test_news2_diastolic_is_not_needed() -> None:
    assert news2_score(replace(NORMAL, diastolic=None)) == 0


def test_news2_rejects_an_unknown_level_of_consciousness() -> None:
    with pytest.raises(ValueError, match="drowsy"):
        news2_score(replace(NORMAL, consciousness="drowsy"))


# --- Everything for one reading ----------------------------------------------------------------


def test_evaluate_collects_every_rule_in_a_stable_order() -> None:
    reading = replace(
        NORMAL, systolic=185, heart_rate=115, spo2=93, respiratory_rate=22, on_oxygen=True
    )
    flags = evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=BASELINE)
    assert [(flag.parameter, flag.severity) for flag in flags] == [
        ("systolic", C),
        ("heart_rate", W),
        ("spo2", W),
        ("respiratory_rate", W),
        ("baseline_rise", W),
        ("news2", C),  # respiration 2 + SpO2 2 + oxygen 2 + pulse 2 = 8
    ]
    assert evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=BASELINE) == flags


def test_evaluate_without_a_baseline_has_no_rise() -> None:
    flags = evaluate(Reading(systolic=170), thresholds=DEFAULT_THRESHOLDS, baseline=None)
    assert [(flag.parameter, flag.severity) for flag in flags] == [("systolic", W)]


# --- Pre-start gate ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("systolic", "diastolic", "failing"),
    [
        (140, 90, []),
        (141, 90, ["systolic"]),
        (140, 91, ["diastolic"]),
        (141, 91, ["systolic", "diastolic"]),
        (100, 60, []),
        (None, 91, ["diastolic"]),
        (141, None, ["systolic"]),
        (None, None, []),  # a missing BP is the service's check, not this rule's
    ],
)
def test_pre_start_gate_is_strictly_above(
    systolic: int | None, diastolic: int | None, failing: list[str]
) -> None:
    failures = pre_start_gate_failures(
        Reading(systolic=systolic, diastolic=diastolic), DEFAULT_THRESHOLDS
    )
    assert len(failures) == len(failing)
    for failure, component in zip(failures, failing, strict=True):
        assert component in failure


def test_pre_start_gate_message() -> None:
    assert pre_start_gate_failures(Reading(systolic=150, diastolic=95), DEFAULT_THRESHOLDS) == [
        "Baseline systolic 150 mmHg is above the pre-start limit of 140.",
        "Baseline diastolic 95 mmHg is above the pre-start limit of 90.",
    ]


# --- Purity ------------------------------------------------------------------------------------


def test_rules_import_without_django() -> None:
    code = "import sys, monitoring.rules; sys.exit('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --- Properties --------------------------------------------------------------------------------

SEVERITY_RANK = {None: 0, W: 1, C: 2}

# Plausible values (CLINICAL.md "Plausibility"); temperatures on one decimal.
systolics = st.integers(50, 300)
diastolics = st.integers(20, 200)
heart_rates = st.integers(20, 250)
spo2s = st.integers(50, 100)
respiratory_rates = st.integers(4, 60)
temperatures = st.integers(300, 450).map(lambda tenths: Decimal(tenths) / 10)
levels = st.sampled_from(CONSCIOUSNESS_LEVELS)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


readings = st.builds(
    Reading,
    systolic=optional(systolics),
    diastolic=optional(diastolics),
    heart_rate=optional(heart_rates),
    spo2=optional(spo2s),
    respiratory_rate=optional(respiratory_rates),
    temperature_c=optional(temperatures),
    consciousness=optional(levels),
    on_oxygen=st.booleans(),
)


def away_from(normal: int, end: int) -> st.SearchStrategy[tuple[int, int]]:
    """Two values between `normal` and `end`, the second at least as far from normal."""
    low, high = sorted((normal, end))
    if end >= normal:
        return st.integers(low, high).flatmap(
            lambda near: st.tuples(st.just(near), st.integers(near, high))
        )
    return st.integers(low, high).flatmap(
        lambda near: st.tuples(st.just(near), st.integers(low, near))
    )


# Each direction in which a parameter can leave normal: field, normal value, plausible end
# (CLINICAL.md "Plausibility"); temperature in tenths of a degree. Diastolic has no lower limit,
# and SpO2 cannot rise above normal.
DIRECTIONS = (
    ("systolic", 120, 300),
    ("systolic", 120, 50),
    ("diastolic", 80, 200),
    ("heart_rate", 72, 250),
    ("heart_rate", 72, 20),
    ("spo2", 100, 50),
    ("respiratory_rate", 16, 60),
    ("respiratory_rate", 16, 4),
    ("temperature_c", 370, 450),
    ("temperature_c", 370, 300),
)


@st.composite
def moves_away(draw: st.DrawFn, directions: tuple[tuple[str, int, int], ...] = DIRECTIONS) -> Any:
    field, normal, end = draw(st.sampled_from(directions))
    near, far = draw(away_from(normal, end))
    if field == "temperature_c":
        return field, Decimal(near) / 10, Decimal(far) / 10
    return field, near, far


def assert_no_better(near: list[Flag], far: list[Flag]) -> None:
    far_by_parameter = {flag.parameter: flag.severity for flag in far}
    for flag in near:
        assert flag.parameter in far_by_parameter, (near, far)
        assert SEVERITY_RANK[far_by_parameter[flag.parameter]] >= SEVERITY_RANK[flag.severity]
    assert len(far) >= len(near)


def flags_for(reading: Reading, baseline: Reading | None, field: str, value: Any) -> list[Flag]:
    return evaluate(
        replace(reading, **{field: value}), thresholds=DEFAULT_THRESHOLDS, baseline=baseline
    )


@settings(max_examples=200, deadline=None)
@given(move=moves_away(), context=readings)
def test_moving_away_from_normal_never_lowers_an_alert(
    move: tuple[str, Any, Any], context: Reading
) -> None:
    # Any other parameters, measured or not: the vital flag and NEWS2 only get worse.
    field, near, far = move
    assert_no_better(flags_for(context, None, field, near), flags_for(context, None, field, far))


@settings(max_examples=200, deadline=None)
@given(
    move=moves_away((("systolic", 120, 300), ("diastolic", 80, 200))),
    context=readings,
    baseline=readings,
)
def test_raising_blood_pressure_never_lowers_an_alert_with_a_baseline(
    move: tuple[str, Any, Any], context: Reading, baseline: Reading
) -> None:
    # Only upward: a falling BP rightly shrinks the rise from baseline.
    field, near, far = move
    assert_no_better(
        flags_for(context, baseline, field, near), flags_for(context, baseline, field, far)
    )


@settings(max_examples=200, deadline=None)
@given(move=moves_away())
def test_moving_one_vital_away_from_normal_never_lowers_its_severity(
    move: tuple[str, Any, Any],
) -> None:
    field, near, far = move
    parameter = THRESHOLD_KEY.get(field, field)
    near_severity = severity_of(
        vital_flags(Reading(**{field: near}), DEFAULT_THRESHOLDS), parameter
    )
    far_severity = severity_of(vital_flags(Reading(**{field: far}), DEFAULT_THRESHOLDS), parameter)
    assert SEVERITY_RANK[far_severity] >= SEVERITY_RANK[near_severity]


@settings(max_examples=200, deadline=None)
@given(reading=readings)
def test_news2_is_between_0_and_20_and_none_iff_incomplete(reading: Reading) -> None:
    score = news2_score(reading)
    complete = None not in (
        reading.respiratory_rate,
        reading.spo2,
        reading.systolic,
        reading.heart_rate,
        reading.consciousness,
        reading.temperature_c,
    )
    assert (score is not None) is complete
    if score is not None:
        assert 0 <= score <= 20


@settings(max_examples=200, deadline=None)
@given(reading=readings)
def test_within_warning_limits_iff_no_vital_flag(reading: Reading) -> None:
    assert within_warning_limits(reading, DEFAULT_THRESHOLDS) is (
        vital_flags(reading, DEFAULT_THRESHOLDS) == []
    )


@settings(max_examples=200, deadline=None)
@given(reading=readings, baseline=optional(readings))
def test_at_most_one_flag_per_parameter(reading: Reading, baseline: Reading | None) -> None:
    flags = evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=baseline)
    parameters = [flag.parameter for flag in flags]
    assert len(parameters) == len(set(parameters))
    assert {flag.severity for flag in flags} <= {W, C}
