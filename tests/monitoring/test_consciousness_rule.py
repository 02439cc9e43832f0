"""Consciousness has a rule of its own (CLINICAL.md, issue 13 point 3): `voice` or `confusion` is a
warning, `pain` or `unresponsive` critical, whatever else the reading lacks. Before it, an
unresponsive patient with normal BP, HR, SpO2 and RR but no temperature raised nothing: NEWS2
needs all seven values."""

from decimal import Decimal

import pytest

from clinic.thresholds import DEFAULT_THRESHOLDS
from monitoring.rules import SEVERITY_CRITICAL, SEVERITY_WARNING, Reading, evaluate


def _consciousness_flags(reading: Reading) -> list[tuple[str, str]]:
    return [
        (flag.parameter, flag.severity)
        for flag in evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=None)
        if flag.parameter == "consciousness"
    ]


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("alert", []),
        ("confusion", [("consciousness", SEVERITY_WARNING)]),
        ("voice", [("consciousness", SEVERITY_WARNING)]),
        ("pain", [("consciousness", SEVERITY_CRITICAL)]),
        ("unresponsive", [("consciousness", SEVERITY_CRITICAL)]),
    ],
)
def test_each_level_alone(level: str, expected: list[tuple[str, str]]) -> None:
    assert _consciousness_flags(Reading(consciousness=level)) == expected


def test_the_walkthrough_reading_is_critical_without_a_temperature() -> None:
    reading = Reading(
        systolic=120,
        diastolic=80,
        heart_rate=72,
        spo2=98,
        respiratory_rate=14,
        consciousness="unresponsive",
    )
    flags = evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=None)
    assert [(f.parameter, f.severity, f.value) for f in flags] == [
        ("consciousness", SEVERITY_CRITICAL, "unresponsive")
    ]
    assert "unresponsive" in flags[0].message


def test_no_consciousness_recorded_raises_nothing_of_its_own() -> None:
    assert _consciousness_flags(Reading(heart_rate=72)) == []


def test_it_stands_beside_news2_on_a_complete_set() -> None:
    reading = Reading(
        systolic=120,
        diastolic=80,
        heart_rate=72,
        spo2=98,
        respiratory_rate=14,
        temperature_c=Decimal("37.0"),
        consciousness="voice",
    )
    parameters = [
        f.parameter for f in evaluate(reading, thresholds=DEFAULT_THRESHOLDS, baseline=None)
    ]
    # NEWS2 scores voice 3: its own warning; consciousness is flagged first, on its own.
    assert parameters == ["consciousness", "news2"]
