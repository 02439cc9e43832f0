"""The SVG charts: valid XML, the text a reader needs, one marker per reading, deterministic
bytes, a time axis whose labels never repeat. Pure: no database. A PNG preview of each chart
lands in /tmp/chart-preview/."""

from __future__ import annotations

import itertools
import re
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
    Band("SpO2 warning (low)", 91, 93, "warning"),
    Band("SpO2 critical (low)", None, 91, "critical"),
    Band("Respiratory rate warning", 20, 25, "warning"),
    Band("Respiratory rate critical (low)", None, 8, "critical"),
]


def session_kwargs(**changes: Any) -> dict[str, Any]:
    """Eight readings over 90 minutes, BP peaking at 40, SpO2 dipping at 50; a warning and a
    critical alert."""
    vitals = [
        (0, 128, 82, 74, 98, 14),
        (10, 138, 86, 78, 97, 14),
        (20, 152, 92, 84, 96, 16),
        (30, 166, 98, 90, 95, 18),
        (40, 184, 106, 96, 94, 22),
        (50, 170, 100, 92, 92, 20),
        (70, 148, 90, 84, 96, 16),
        (90, 132, 84, 76, 98, 14),
    ]
    kwargs: dict[str, Any] = {
        "title": "Session 42: Ketamine 0.5 mg/kg over 40 min",
        "points": [ChartPoint(START + timedelta(minutes=m), *values) for m, *values in vitals],
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


def time_labels(root: ET.Element) -> list[str]:
    """The time axis's tick labels, left to right (not its title)."""
    ticks = [e for e in by_id(root, "time-axis") if e.get("id", "").startswith("xtick")]
    return [label for tick in ticks if (label := "".join(tick.itertext()).strip())]


def session_over(
    duration: timedelta, *, every: timedelta, start: datetime = START
) -> dict[str, Any]:
    """The chart's input for a session of `duration` with a reading every `every`."""
    count = int(duration / every) + 1
    points = [ChartPoint(start + every * i, 130, 84, 76, 97, 15) for i in range(count)]
    return session_kwargs(
        points=points,
        alerts=[],
        infusion_start=start,
        infusion_end=start + min(duration, timedelta(minutes=40)),
    )


def write_preview(name: str, png: bytes) -> None:
    PREVIEW_DIR.mkdir(exist_ok=True)
    (PREVIEW_DIR / name).write_bytes(png)


def test_session_chart_has_the_text_a_reader_needs():
    root = parse(session_chart_svg(**session_kwargs()))
    text = texts(root)

    assert "Session 42: Ketamine 0.5 mg/kg over 40 min" in text
    assert "infusion" in text
    assert {"warning alert", "critical alert"} <= set(text)
    assert {
        "Systolic (mmHg)",
        "Diastolic (mmHg)",
        "Heart rate (/min)",
        "SpO2 (%)",
        "Respiratory rate (/min)",
    } <= set(text)
    assert {"Systolic", "Diastolic", "Heart rate", "SpO2", "Respiratory rate"} <= set(text)
    assert {band.label for band in BANDS} <= set(text)
    assert "Time (America/New_York)" in text
    assert "No readings yet" not in text


def test_session_chart_time_axis_is_the_clinics_local_clock():
    text = texts(parse(session_chart_svg(**session_kwargs())))

    # 14:05-15:35 UTC is 10:05-11:35 in New York (EDT).
    assert "10:30" in text
    assert "14:30" not in text


@pytest.mark.parametrize(
    ("duration", "every"),
    [
        (timedelta(0), timedelta(minutes=1)),  # a single reading
        (timedelta(seconds=20), timedelta(seconds=10)),  # readings seconds apart
        (timedelta(minutes=2), timedelta(seconds=30)),
        (timedelta(minutes=10), timedelta(minutes=1)),
        (timedelta(minutes=40), timedelta(minutes=5)),
        (timedelta(hours=3), timedelta(minutes=15)),
        (timedelta(hours=3, minutes=10), timedelta(minutes=5)),
        (timedelta(hours=8), timedelta(minutes=15)),
    ],
)
def test_session_chart_time_labels_never_repeat_and_step_evenly(duration, every):
    labels = time_labels(parse(session_chart_svg(**session_over(duration, every=every))))

    assert len(labels) == len(set(labels)), labels
    assert 4 <= len(labels) <= 10, labels
    assert all(re.fullmatch(r"\d\d:\d\d", label) for label in labels), labels
    minutes = [int(label[:2]) * 60 + int(label[3:]) for label in labels]
    steps = {later - earlier for earlier, later in itertools.pairwise(minutes)}
    assert len(steps) == 1, labels
    assert steps.pop() in {1, 2, 5, 10, 15, 20, 30, 60, 120}, labels


def test_session_chart_time_labels_of_two_minutes_and_of_three_hours():
    two_minutes = session_over(timedelta(minutes=2), every=timedelta(seconds=30))
    three_hours = session_over(timedelta(hours=3), every=timedelta(minutes=15))

    # 14:05 UTC is 10:05 in New York; two minutes of padding either side at least.
    assert time_labels(parse(session_chart_svg(**two_minutes))) == [
        "10:03", "10:04", "10:05", "10:06", "10:07", "10:08", "10:09"
    ]  # fmt: skip
    assert time_labels(parse(session_chart_svg(**three_hours))) == [
        "10:00", "10:20", "10:40", "11:00", "11:20", "11:40", "12:00", "12:20", "12:40", "13:00"
    ]  # fmt: skip


def test_session_chart_time_labels_do_not_depend_on_the_zone_the_times_come_in():
    as_utc = session_over(timedelta(hours=3), every=timedelta(minutes=15))
    as_local = session_over(
        timedelta(hours=3), every=timedelta(minutes=15), start=START.astimezone(CLINIC_ZONE)
    )

    assert time_labels(parse(session_chart_svg(**as_local))) == time_labels(
        parse(session_chart_svg(**as_utc))
    )


def test_session_chart_time_labels_name_the_zone_when_the_clocks_go_back():
    # 05:00-07:00 UTC on 2 November 2025 is 01:00 EDT to 01:00 EST in New York: the hour from
    # 01:00 happens twice, so "01:00" alone would name two times.
    night = datetime(2025, 11, 2, 5, 0, tzinfo=UTC)
    kwargs = session_over(timedelta(hours=2), every=timedelta(minutes=15), start=night)
    labels = time_labels(parse(session_chart_svg(**kwargs)))

    assert len(labels) == len(set(labels)), labels
    assert {"01:00 EDT", "01:00 EST"} <= set(labels)


def test_session_chart_time_labels_carry_the_date_past_a_day():
    kwargs = session_over(timedelta(hours=30), every=timedelta(hours=1))
    labels = time_labels(parse(session_chart_svg(**kwargs)))

    assert len(labels) == len(set(labels)), labels
    assert 4 <= len(labels) <= 6, labels
    assert {label.split(" ", 2)[1] for label in labels} == {"Mar"}, labels


def test_session_chart_panels_in_order_and_spo2_tops_at_100_percent():
    root = parse(session_chart_svg(**session_kwargs()))
    panels = [i for i in ids(root) if i.startswith("panel-")]
    spo2_ticks = [
        int(label)
        for tick in by_id(root, "panel-spo2").iter()
        if tick.get("id", "").startswith("ytick") and (label := "".join(tick.itertext()).strip())
    ]

    assert panels == [
        "panel-systolic",
        "panel-diastolic",
        "panel-heart-rate",
        "panel-spo2",
        "panel-respiratory-rate",
    ]
    assert max(spo2_ticks) == 100 and min(spo2_ticks) <= 90


def test_session_chart_has_one_marker_per_value():
    points = session_kwargs()["points"]
    points[2] = ChartPoint(points[2].at, None, None, 84, 96, None)  # BP and RR not taken
    points[5] = ChartPoint(points[5].at, 170, 100, 92, None, 20)  # SpO2 not taken
    root = parse(session_chart_svg(**session_kwargs(points=points)))

    assert marker_count(root, "systolic") == 7
    assert marker_count(root, "diastolic") == 7
    assert marker_count(root, "heart-rate") == 8
    assert marker_count(root, "spo2") == 7
    assert marker_count(root, "respiratory-rate") == 7
    assert "Not recorded" not in texts(root)


def test_session_chart_says_which_measurement_was_never_taken():
    points = [
        ChartPoint(p.at, p.systolic, p.diastolic, p.heart_rate) for p in session_kwargs()["points"]
    ]
    root = parse(session_chart_svg(**session_kwargs(points=points)))

    # SpO2 and respiratory rate: an empty panel each, saying so; the others drawn.
    assert texts(root).count("Not recorded") == 2
    assert marker_count(root, "spo2") == 0
    assert marker_count(root, "respiratory-rate") == 0
    assert marker_count(root, "systolic") == 8


def test_session_chart_marks_each_alert_in_every_panel_with_its_severity():
    element_ids = ids(parse(session_chart_svg(**session_kwargs())))

    alerts = sorted(i for i in element_ids if i.startswith("alert-"))
    assert alerts == [
        "alert-0-warning-diastolic",
        "alert-0-warning-heart-rate",
        "alert-0-warning-respiratory-rate",
        "alert-0-warning-spo2",
        "alert-0-warning-systolic",
        "alert-1-critical-diastolic",
        "alert-1-critical-heart-rate",
        "alert-1-critical-respiratory-rate",
        "alert-1-critical-spo2",
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
        "band-spo2-warning-low",
        "band-spo2-critical-low",
        "band-respiratory-rate-warning",
        "band-respiratory-rate-critical-low",
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
    with pytest.raises(ValueError, match="Temperature warning"):
        session_chart_svg(
            **session_kwargs(bands=[Band("Temperature warning", 38.1, 39.1, "warning")])
        )


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
    three_hours = session_over(timedelta(hours=3), every=timedelta(minutes=5))
    three_hours_png = session_chart_svg(**three_hours, image_format="png")
    outcomes_png = outcomes_chart_svg(**outcomes_kwargs(), image_format="png")

    assert session_png.startswith(b"\x89PNG")
    assert three_hours_png.startswith(b"\x89PNG")
    assert outcomes_png.startswith(b"\x89PNG")
    write_preview("session-test.png", session_png)
    write_preview("session-3-hours-test.png", three_hours_png)
    write_preview("outcomes-test.png", outcomes_png)
