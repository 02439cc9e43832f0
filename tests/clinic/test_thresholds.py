"""The threshold defaults (CLINICAL.md) and validation of protocol overrides."""

import pytest

from clinic.thresholds import (
    DEFAULT_THRESHOLDS,
    ThresholdError,
    effective_thresholds,
    validate_threshold_overrides,
)


def test_defaults_match_the_clinical_reference() -> None:
    vitals = DEFAULT_THRESHOLDS["vitals"]
    assert vitals["systolic"] == {
        "warning": {"above": 160, "at_or_below": 100},
        "critical": {"at_or_above": 180, "at_or_below": 90},
    }
    assert vitals["diastolic"] == {"warning": {"above": 100}, "critical": {"at_or_above": 110}}
    assert vitals["heart_rate"] == {
        "warning": {"above": 110, "below": 50},
        "critical": {"above": 130, "at_or_below": 40},
    }
    assert vitals["spo2"] == {"warning": {"at_or_below": 93}, "critical": {"at_or_below": 91}}
    assert vitals["respiratory_rate"] == {
        "warning": {"below": 12, "above": 20},
        "critical": {"at_or_below": 8, "at_or_above": 25},
    }
    assert vitals["temperature"] == {
        "warning": {"at_or_above": 38.1, "at_or_below": 36.0},
        "critical": {"at_or_above": 39.1, "at_or_below": 35.0},
    }
    assert DEFAULT_THRESHOLDS["baseline_rise"] == {
        "systolic_at_or_above": 40,
        "diastolic_at_or_above": 25,
    }
    assert DEFAULT_THRESHOLDS["pre_start_gate"] == {"systolic_above": 140, "diastolic_above": 90}
    assert DEFAULT_THRESHOLDS["news2"] == {"warning_at_or_above": 5, "critical_at_or_above": 7}


def test_an_override_replaces_one_tier_and_leaves_the_rest() -> None:
    overrides = {
        "vitals": {"systolic": {"warning": {"above": 150, "at_or_below": 100}}},
        "pre_start_gate": {"systolic_above": 150},
    }
    effective = effective_thresholds(validate_threshold_overrides(overrides))
    assert effective["vitals"]["systolic"]["warning"] == {"above": 150, "at_or_below": 100}
    assert effective["vitals"]["systolic"]["critical"] == {"at_or_above": 180, "at_or_below": 90}
    assert effective["pre_start_gate"] == {"systolic_above": 150, "diastolic_above": 90}
    # The defaults themselves are untouched.
    assert DEFAULT_THRESHOLDS["vitals"]["systolic"]["warning"]["above"] == 160


def test_an_override_of_one_side_keeps_the_other() -> None:
    overrides = {"vitals": {"systolic": {"critical": {"at_or_above": 190}}}}
    effective = effective_thresholds(validate_threshold_overrides(overrides))
    assert effective["vitals"]["systolic"]["critical"] == {"at_or_above": 190, "at_or_below": 90}
    swapped = {"vitals": {"heart_rate": {"warning": {"at_or_above": 115}}}}
    effective = effective_thresholds(validate_threshold_overrides(swapped))
    assert effective["vitals"]["heart_rate"]["warning"] == {"at_or_above": 115, "below": 50}


def test_no_overrides_is_the_defaults() -> None:
    assert effective_thresholds({}) == DEFAULT_THRESHOLDS
    assert effective_thresholds(None) == DEFAULT_THRESHOLDS


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ("not an object", "thresholds"),
        ({"colour": {}}, "thresholds"),
        ({"vitals": {"glucose": {"warning": {"above": 10}}}}, "vitals.glucose"),
        ({"vitals": {"systolic": {"amber": {"above": 150}}}}, "vitals.systolic"),
        ({"vitals": {"systolic": {"warning": {"over": 150}}}}, "vitals.systolic.warning"),
        (
            {"vitals": {"systolic": {"warning": {"above": 150, "at_or_above": 151}}}},
            "vitals.systolic.warning",
        ),
        ({"vitals": {"systolic": {"warning": {"above": "high"}}}}, "vitals.systolic.warning.above"),
        ({"vitals": {"systolic": {"warning": {"above": True}}}}, "vitals.systolic.warning.above"),
        ({"vitals": {"systolic": {"warning": {"above": "160"}}}}, "vitals.systolic.warning.above"),
        ({"vitals": {"systolic": {"warning": {"above": 400}}}}, "vitals.systolic.warning.above"),
        ({"vitals": {"systolic": {"warning": {}}}}, "vitals.systolic.warning"),
        # critical less extreme than warning
        ({"vitals": {"systolic": {"critical": {"at_or_above": 150}}}}, "vitals.systolic.critical"),
        ({"vitals": {"spo2": {"critical": {"at_or_below": 95}}}}, "vitals.spo2.critical"),
        # lower limit above the upper one
        (
            {"vitals": {"diastolic": {"warning": {"above": 80, "below": 90}}}},
            "vitals.diastolic.warning",
        ),
        ({"baseline_rise": {"systolic_at_or_above": -5}}, "baseline_rise.systolic_at_or_above"),
        ({"baseline_rise": {"pulse": 5}}, "baseline_rise"),
        ({"pre_start_gate": {"systolic_above": "x"}}, "pre_start_gate.systolic_above"),
        ({"news2": {"warning_at_or_above": 0}}, "news2.warning_at_or_above"),
        ({"news2": {"warning_at_or_above": 8}}, "news2"),
    ],
)
def test_nonsense_overrides_are_refused(overrides: object, path: str) -> None:
    with pytest.raises(ThresholdError) as caught:
        validate_threshold_overrides(overrides)
    assert path in caught.value.errors


def test_a_sensible_override_passes_unchanged() -> None:
    overrides = {
        "vitals": {"temperature": {"critical": {"at_or_above": 39.5, "at_or_below": 34.5}}}
    }
    assert validate_threshold_overrides(overrides) == overrides
