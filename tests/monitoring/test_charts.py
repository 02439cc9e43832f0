"""The SVG charts: valid XML, the text a reader needs, one marker per reading, deterministic
bytes. Pure: no database. A PNG preview of each chart lands in /tmp/chart-preview/."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitoring.charts import (
    Band,
    ChartAlert,
    ChartPoint,
    ScorePoint,
    SeverityBand,
    outcomes_chart_svg,
    session_chart_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
PREVIEW_DIR = Path("/tmp/chart-preview")  # noqa: S108 - a preview for a human, not a secret
CLINIC_ZONE = ZoneInfo("America/New_York")
START = datetime(2025, 3, 14, 14, 5, tzinfo=UTC)  # 10:05 in New York

BANDS = [
    Band("Systolic warning", 160, 180, "warning"),
    Band("Systolic critical", 180, None, "critical"),
    Band("Systolic critical (low)", None, 90, "critical"),
    Band("Diastolic warning", 100, 110, "warning"),
    Band("Heart rate warning", 110, 130, "warning"),
    Band("Heart rate critical (low)", None, 40, "critical"),
]


def session_kwargs(**changes: Any) -> dict[str, Any]:
    """Eight readings over 90 minutes, BP peaking at 40; a warning and a critical alert."""
    vitals = [
        (0, 128, 82, 74),
        (10, 138, 86, 78),
        (20, 152, 92, 84),
        (30, 166, 98, 90),
        (40, 184, 106, 96),
        (50, 170, 100, 92),
        (70, 148, 90, 84),
        (90, 132, 84, 76),
    ]
    kwargs: dict[str, Any] = {
        "title": "Session 42: Ketamine 0.5 mg/kg over 40 min",
        "points": [
            ChartPoint(START + timedelta(minutes=m), systolic, diastolic, heart_rate)
            for m, systolic, diastolic, heart_rate in vitals
        ],
        "bands": BANDS,
        "infusion_start": START + timedelta(minutes=5),
        "infusion_end": START + timedelta(minutes=45),
        "alerts": [
            ChartAlert(START + timedelta(minutes=30, seconds=20), "systolic", "warning"),
            ChartAlert(START + timedelta(minutes=40, seconds=20), "systolic", "critical"),
        ],
        "tz": CLINIC_ZONE,
    }
    return kwargs | changes


def outcomes_kwargs(**changes: Any) -> dict[str, Any]:
    first = datetime(2025, 1, 6, 15, 0, tzinfo=CLINIC_ZONE)
    kwargs: dict[str, Any] = {
        "title": "Outcomes: Jane Doe",
        "series": {
            "PHQ-9": [ScorePoint(first + timedelta(days=d), t) for d, t in [(-1, 21), (8, 11)]],
            "GAD-7": [ScorePoint(first + timedelta(days=d), t) for d, t in [(-1, 15), (8, 9)]],
        },
        "bands": {
            "PHQ-9": [
                SeverityBand("minimal", 0, 4),
                SeverityBand("mild", 5, 9),
                SeverityBand("moderate", 10, 14),
                SeverityBand("moderately severe", 15, 19),
                SeverityBand("severe", 20, 27),
            ],
            "GAD-7": [
                SeverityBand("minimal", 0, 4),
                SeverityBand("mild", 5, 9),
                SeverityBand("moderate", 10, 14),
                SeverityBand("severe", 15, 21),
            ],
        },
        "max_scores": {"PHQ-9": 27, "GAD-7": 21},
        "infusion_dates": [first + timedelta(days=d) for d in (0, 2, 4, 7)],
        "tz": CLINIC_ZONE,
    }
    return kwargs | changes


def parse(svg: bytes) -> ET.Element:
    assert svg.startswith((b"<?xml", b"<svg"))
    return ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input


def texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def ids(root: ET.Element) -> list[str]:
    return [element.get("id", "") for element in root.iter()]


def by_id(root: ET.Element, element_id: str) -> ET.Element:
    matches = [element for element in root.iter() if element.get("id") == element_id]
    assert len(matches) == 1, element_id
    return matches[0]


def marker_count(root: ET.Element, element_id: str) -> int:
    return len(list(by_id(root, element_id).iter(f"{SVG}use")))


def write_preview(name: str, png: bytes) -> None:
    PREVIEW_DIR.mkdir(exist_ok=True)
    (PREVIEW_DIR / name).write_bytes(png)


def test_session_chart_has_the_text_a_reader_needs():
    root = parse(session_chart_svg(**session_kwargs()))
    text = texts(root)

    assert "Session 42: Ketamine 0.5 mg/kg over 40 min" in text
    assert "infusion" in text
    assert {"warning alert", "critical alert"} <= set(text)
    assert {"Systolic (mmHg)", "Diastolic (mmHg)", "Heart rate (/min)"} <= set(text)
    assert {band.label for band in BANDS} <= set(text)
    assert "Time (America/New_York)" in text
    assert "No readings yet" not in text


def test_session_chart_time_axis_is_the_clinics_local_clock():
    text = texts(parse(session_chart_svg(**session_kwargs())))

    # 14:05-15:35 UTC is 10:05-11:35 in New York (EDT).
    assert "10:30" in text
    assert "14:30" not in text


def test_session_chart_has_one_marker_per_value():
    points = session_kwargs()["points"]
    points[2] = ChartPoint(points[2].at, None, None, 84)  # BP not taken this time
    root = parse(session_chart_svg(**session_kwargs(points=points)))

    assert marker_count(root, "systolic") == 7
    assert marker_count(root, "diastolic") == 7
    assert marker_count(root, "heart-rate") == 8


def test_session_chart_marks_each_alert_in_every_panel_with_its_severity():
    element_ids = ids(parse(session_chart_svg(**session_kwargs())))

    alerts = sorted(i for i in element_ids if i.startswith("alert-"))
    assert alerts == [
        "alert-0-warning-diastolic",
        "alert-0-warning-heart-rate",
        "alert-0-warning-systolic",
        "alert-1-critical-diastolic",
        "alert-1-critical-heart-rate",
        "alert-1-critical-systolic",
    ]


def test_session_chart_shades_each_band_on_its_parameters_panel():
    element_ids = ids(parse(session_chart_svg(**session_kwargs())))

    assert {
        "band-systolic-warning",
        "band-systolic-critical",
        "band-systolic-critical-low",
        "band-diastolic-warning",
        "band-heart-rate-warning",
        "band-heart-rate-critical-low",
    } <= set(element_ids)


def test_session_chart_is_deterministic():
    assert session_chart_svg(**session_kwargs()) == session_chart_svg(**session_kwargs())


def test_session_chart_without_readings_says_so():
    kwargs = session_kwargs(points=[], alerts=[], infusion_start=None, infusion_end=None)
    root = parse(session_chart_svg(**kwargs))
    text = texts(root)

    assert "No readings yet" in text
    assert kwargs["title"] in text
    assert {band.label for band in BANDS} <= set(text)
    assert marker_count(root, "systolic") == 0


def test_session_chart_running_infusion_is_shaded_to_the_latest_reading():
    text = texts(parse(session_chart_svg(**session_kwargs(infusion_end=None))))

    assert "infusion" in text


def test_session_chart_refuses_naive_times():
    point = ChartPoint(datetime(2025, 3, 14, 14, 5), 120, 80, 70)  # noqa: DTZ001 - the point

    with pytest.raises(ValueError, match="timezone-aware"):
        session_chart_svg(**session_kwargs(points=[point]))


def test_session_chart_refuses_a_band_for_no_charted_parameter():
    with pytest.raises(ValueError, match="SpO2 warning"):
        session_chart_svg(**session_kwargs(bands=[Band("SpO2 warning", None, 93, "warning")]))


def test_outcomes_chart_has_one_panel_per_instrument_with_its_bands():
    root = parse(outcomes_chart_svg(**outcomes_kwargs()))
    text = texts(root)
    element_ids = ids(root)

    assert [i for i in element_ids if i.startswith("panel-")] == ["panel-phq-9", "panel-gad-7"]
    assert "Outcomes: Jane Doe" in text
    assert {"PHQ-9 total (0-27)", "GAD-7 total (0-21)"} <= set(text)
    assert {"moderately severe (15-19)", "severe (20-27)", "severe (15-21)"} <= set(text)
    assert "severity-gad-7-minimal" in element_ids
    assert "infusion" in text
    assert marker_count(root, "score-phq-9") == 2
    assert sum(i.startswith("infusion-phq-9-") for i in element_ids) == 4


def test_outcomes_chart_without_scores_still_shows_the_bands():
    root = parse(outcomes_chart_svg(**outcomes_kwargs(series={"PHQ-9": []}, infusion_dates=[])))
    text = texts(root)

    assert "No scores yet" in text
    assert "minimal (0-4)" in text
    assert marker_count(root, "score-phq-9") == 0


def test_outcomes_chart_without_questionnaires_says_so():
    kwargs = outcomes_kwargs(series={}, bands={}, max_scores={}, infusion_dates=[])

    assert "No scores yet" in texts(parse(outcomes_chart_svg(**kwargs)))


def test_outcomes_chart_is_deterministic():
    assert outcomes_chart_svg(**outcomes_kwargs()) == outcomes_chart_svg(**outcomes_kwargs())


def test_png_previews():
    session_png = session_chart_svg(**session_kwargs(), image_format="png")
    outcomes_png = outcomes_chart_svg(**outcomes_kwargs(), image_format="png")

    assert session_png.startswith(b"\x89PNG")
    assert outcomes_png.startswith(b"\x89PNG")
    write_preview("session-test.png", session_png)
    write_preview("outcomes-test.png", outcomes_png)
