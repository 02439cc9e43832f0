"""Server-side SVG charts of a session's vital signs and a patient's questionnaire outcomes.

Pure plotting over plain data (no Django), drawn with matplotlib's object API: `Figure`, never
pyplot, whose global figure registry is not safe to share between a web server's threads.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

SYSTOLIC_COLOUR = "#c62828"
DIASTOLIC_COLOUR = "#1565c0"
HEART_RATE_COLOUR = "#2e7d32"
SPO2_COLOUR = "#6a1b9a"
RESPIRATORY_RATE_COLOUR = "#6d4c41"
WARNING_COLOUR = "#ef8f00"
CRITICAL_COLOUR = "#b71c1c"
WARNING_ZONE_ALPHA = 0.15
CRITICAL_ZONE_ALPHA = 0.25
INFUSION_COLOUR = "#4fc3f7"
INFUSION_ALPHA = 0.15
INFUSION_LABEL_COLOUR = "#0277bd"
BAND_LABEL_COLOUR = "#555555"
SCORE_COLOUR = "#37474f"
SAFETY_LABEL = "PHQ-9 item 9 ≥ 1 (thoughts of self-harm)"
# Questionnaire severity bands, least to most severe.
SEVERITY_COLOURS = ("#e8f5e9", "#f9fbe7", "#fff8e1", "#fff3e0", "#ffebee")

SEVERITY_COLOURS_BY_NAME = {"warning": WARNING_COLOUR, "critical": CRITICAL_COLOUR}
ZONE_ALPHA_BY_SEVERITY = {"warning": WARNING_ZONE_ALPHA, "critical": CRITICAL_ZONE_ALPHA}

# rc_context swaps matplotlib's process-wide rcParams; one render at a time, so that one
# thread's exit from the context cannot reset settings under another thread's render.
_RENDER_LOCK = threading.Lock()

ImageFormat = Literal["svg", "png"]


@dataclass(frozen=True)
class ChartPoint:
    at: datetime
    systolic: int | None
    diastolic: int | None
    heart_rate: int | None
    spo2: int | None = None
    respiratory_rate: int | None = None


@dataclass(frozen=True)
class ChartAlert:
    at: datetime
    parameter: str
    severity: str  # "warning" | "critical"


@dataclass(frozen=True)
class Band:
    """An abnormal zone of one parameter; its label starts with the parameter's name
    ("Systolic warning", "Heart rate critical (low)"), which picks the panel it is shaded on."""

    label: str
    low: float | None  # None: open below
    high: float | None  # None: open above
    severity: str  # "warning" | "critical"


@dataclass(frozen=True)
class ScorePoint:
    at: datetime
    total: int
    safety_flag: bool = False  # the instrument's safety item answered 1 or more (PHQ-9 item 9)


@dataclass(frozen=True)
class SeverityBand:
    label: str
    low: int
    high: int  # inclusive


@dataclass(frozen=True)
class _Panel:
    parameter: str  # a ChartPoint field
    name: str  # what a band's label starts with
    axis_label: str
    colour: str
    usual_range: tuple[float, float]  # always in view, so an empty panel still reads sensibly
    highest_possible: float | None = None  # the view stops just above it (SpO2 is at most 100 %)


# Every measurement gets a panel: their abnormal zones overlap (a diastolic of 105 is high, a
# systolic of 105 is normal) and their scales differ (SpO2 91-100 %, respiratory rate 8-25
# /min), so one shared axis could neither shade nor show them all.
_SESSION_PANELS = (
    _Panel("systolic", "systolic", "Systolic (mmHg)", SYSTOLIC_COLOUR, (100, 160)),
    _Panel("diastolic", "diastolic", "Diastolic (mmHg)", DIASTOLIC_COLOUR, (60, 100)),
    _Panel("heart_rate", "heart rate", "Heart rate (/min)", HEART_RATE_COLOUR, (50, 110)),
    _Panel("spo2", "spo2", "SpO2 (%)", SPO2_COLOUR, (94, 100), highest_possible=100),
    _Panel(
        "respiratory_rate",
        "respiratory rate",
        "Respiratory rate (/min)",
        RESPIRATORY_RATE_COLOUR,
        (12, 20),
    ),
)

# Time-axis ticks fall on round clock times, one step apart; the step is the smallest of these
# (minutes, each dividing an hour or a day) that keeps the labels few enough to read. A whole
# minute at least, so that no two "HH:MM" labels can be the same minute.
TIME_TICK_STEPS_MINUTES = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720)
MAX_TIME_TICKS = 10
MAX_DATED_TIME_TICKS = 6  # "14 Mar 10:00" is twice as wide as "10:00"


def session_chart_svg(
    *,
    title: str,
    points: Sequence[ChartPoint],
    bands: Sequence[Band],
    infusion_start: datetime | None,
    infusion_end: datetime | None,
    alerts: Sequence[ChartAlert],
    tz: ZoneInfo,
    image_format: ImageFormat = "svg",
) -> bytes:
    """Blood pressure, heart rate, SpO2 and respiratory rate over the session, one panel each,
    with the abnormal zones shaded, the infusion window and the alerts marked, on the clinic's
    local clock."""
    times = [p.at for p in points] + [a.at for a in alerts]
    times += [t for t in (infusion_start, infusion_end) if t is not None]
    _require_aware(times)
    panel_bands = _bands_by_panel(bands)

    with _rendering():
        fig = Figure(figsize=(9, 11), layout="constrained")
        axes = fig.subplots(len(_SESSION_PANELS), 1, sharex=True)
        fig.suptitle(title, fontsize=13)
        for ax, panel in zip(axes, _SESSION_PANELS, strict=True):
            ax.set_gid(_element_id("panel", panel.name))
            _draw_vital_panel(ax, panel, points, panel_bands[panel.name])
            # Legend entries for the shared markings come from one panel, after the lines.
            _draw_infusion(ax, infusion_start, infusion_end, times, label=ax is axes[-1])
            _draw_alerts(ax, alerts, panel.name, label=ax is axes[-1])
        if infusion_start is not None:
            axes[0].text(
                _num(infusion_start),
                1,
                " infusion",
                transform=blended_transform_factory(axes[0].transData, axes[0].transAxes),
                va="bottom",
                fontsize=8,
                color=INFUSION_LABEL_COLOUR,
            )

        bottom = axes[-1]
        bottom.set_xlabel(f"Time ({tz.key})")
        bottom.xaxis.set_gid("time-axis")
        if times:
            span = max(times) - min(times)
            padding = max(span * 0.03, timedelta(minutes=2))
            _draw_time_axis(bottom, min(times) - padding, max(times) + padding, tz)
        else:
            bottom.set_xticks([])
        if not points:
            fig.text(
                0.5,
                0.5,
                "No readings yet",
                ha="center",
                va="center",
                fontsize=14,
                bbox={"facecolor": "white", "edgecolor": "none"},
            )

        fig.legend(loc="outside lower center", ncols=8, fontsize=8, frameon=False)
        return _render(fig, image_format)


def outcomes_chart_svg(
    *,
    title: str,
    series: Mapping[str, Sequence[ScorePoint]],
    bands: Mapping[str, Sequence[SeverityBand]],
    max_scores: Mapping[str, int],
    infusion_dates: Sequence[datetime],
    tz: ZoneInfo,
    image_format: ImageFormat = "svg",
) -> bytes:
    """One panel per questionnaire (in the order of `series`): totals over time against
    the instrument's severity bands, with the infusion dates marked, and a score whose safety
    item was answered (PHQ-9 item 9, thoughts of self-harm) marked apart: a clinician scanning
    the chart must not read it as just another point on the line."""
    times = [p.at for points in series.values() for p in points] + list(infusion_dates)
    _require_aware(times)

    with _rendering():
        fig = Figure(figsize=(9, 2.2 + 2.6 * max(len(series), 1)), layout="constrained")
        fig.suptitle(title, fontsize=13)
        axes = fig.subplots(max(len(series), 1), 1, sharex=True, squeeze=False)[:, 0]
        any_flag_labelled = False
        for ax, (instrument, points) in zip(axes, series.items(), strict=False):
            ax.set_gid(_element_id("panel", instrument))
            _draw_severity_bands(ax, instrument, bands.get(instrument, ()), max_scores[instrument])
            for index, date in enumerate(infusion_dates):
                ax.axvline(
                    _num(date),
                    color=INFUSION_COLOUR,
                    linewidth=1.5,
                    label="infusion" if ax is axes[0] and index == 0 else None,
                    gid=_element_id("infusion", instrument, str(index)),
                )
            scores = sorted(points, key=lambda p: p.at)
            ax.plot(
                [_num(p.at) for p in scores],
                [p.total for p in scores],
                color=SCORE_COLOUR,
                marker="o",
                label="total score" if ax is axes[0] else None,
                gid=_element_id("score", instrument),
            )
            _draw_safety_flags(ax, instrument, scores, label=not any_flag_labelled)
            any_flag_labelled = any_flag_labelled or any(p.safety_flag for p in scores)
            if not scores:
                ax.text(0.5, 0.5, "No scores yet", transform=ax.transAxes, ha="center")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(f"{instrument} total (0-{max_scores[instrument]})")

        bottom = axes[-1]
        bottom.set_xlabel(f"Date ({tz.key})")
        if times:
            padding = max((max(times) - min(times)) * 0.03, timedelta(days=1))
            bottom.set_xlim(_num(min(times) - padding), _num(max(times) + padding))
            locator = mdates.AutoDateLocator(tz=tz)
            bottom.xaxis.set_major_locator(locator)
            bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
        else:
            bottom.set_xticks([])
        if series:
            fig.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)
        else:
            axes[0].text(0.5, 0.5, "No scores yet", transform=axes[0].transAxes, ha="center")
        return _render(fig, image_format)


def _draw_time_axis(ax: Axes, start: datetime, end: datetime, tz: ZoneInfo) -> None:
    """Ticks on round local clock times, at a step chosen by the span, so a session of two
    minutes and one of three hours both get a handful of labels and none repeats: a whole
    minute at least; the date once the view spans a day; the zone's abbreviation when the
    view crosses a change of clock (01:30 EDT and 01:30 EST are an hour apart)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # so that + timedelta is elapsed
    ax.set_xlim(_num(start), _num(end))
    span_minutes = (end - start).total_seconds() / 60
    dated = end - start >= timedelta(days=1)
    max_ticks = MAX_DATED_TIME_TICKS if dated else MAX_TIME_TICKS
    step_minutes = next(
        (step for step in TIME_TICK_STEPS_MINUTES if span_minutes / step < max_ticks),
        math.ceil(span_minutes / max_ticks / (24 * 60)) * 24 * 60,  # whole days
    )
    # The first round clock time in view, then one step of elapsed time after another (not of
    # wall-clock time, whose repeated or skipped hour would bunch or gap the ticks).
    local_start = start.astimezone(tz)
    minutes_into_day = (
        local_start - local_start.replace(hour=0, minute=0, second=0, microsecond=0)
    ).total_seconds() / 60
    first = start + timedelta(
        minutes=math.ceil(minutes_into_day / step_minutes) * step_minutes - minutes_into_day
    )
    count = math.floor((end - first) / timedelta(minutes=step_minutes)) + 1
    ax.set_xticks([_num(first + timedelta(minutes=step_minutes * i)) for i in range(count)])
    label = "%d %b %H:%M" if dated else "%H:%M"
    if local_start.utcoffset() != end.astimezone(tz).utcoffset():
        label += " %Z"
    ax.xaxis.set_major_formatter(mdates.DateFormatter(label, tz=tz))


def _draw_vital_panel(
    ax: Axes, panel: _Panel, points: Sequence[ChartPoint], bands: Sequence[Band]
) -> None:
    # A reading without this value is skipped: the line joins the readings that have one.
    readings = sorted(
        ((p.at, value) for p in points if (value := getattr(p, panel.parameter)) is not None),
        key=lambda reading: reading[0],
    )
    values = [value for _, value in readings]
    ax.plot(
        [_num(at) for at, _ in readings],
        values,
        color=panel.colour,
        marker="o",
        markersize=5,
        linewidth=1.8,
        label=panel.axis_label.split(" (")[0],
        gid=_element_id(panel.name),
    )
    if points and not readings:
        # Readings, but none with this value: say so rather than leave an empty panel.
        ax.text(
            0.5,
            0.5,
            "Not recorded",
            transform=ax.transAxes,
            ha="center",
            va="center",
            bbox={"facecolor": "white", "edgecolor": "none"},
        )
    edges = [edge for band in bands for edge in (band.low, band.high) if edge is not None]
    in_view = [*values, *edges, *panel.usual_range]
    low, high = min(in_view), max(in_view)
    margin = max((high - low) * 0.12, 5)
    top = high + margin
    if panel.highest_possible is not None:
        top = min(top, panel.highest_possible + 1)
    ax.set_ylim(low - margin, top)
    bottom, top = ax.get_ylim()

    label_position = blended_transform_factory(ax.transAxes, ax.transData)
    for band in bands:
        band_low = bottom if band.low is None else max(band.low, bottom)
        band_high = top if band.high is None else min(band.high, top)
        ax.axhspan(
            band_low,
            band_high,
            color=SEVERITY_COLOURS_BY_NAME.get(band.severity, WARNING_COLOUR),
            alpha=ZONE_ALPHA_BY_SEVERITY.get(band.severity, WARNING_ZONE_ALPHA),
            linewidth=0,
            gid=_element_id("band", band.label),
        )
        ax.text(
            0.995,
            (band_low + band_high) / 2,
            band.label,
            transform=label_position,
            ha="right",
            va="center",
            fontsize=7,
            color=BAND_LABEL_COLOUR,
        )
    # Whole numbers (every measurement is), in steps of 1, 2, 5 or 10 times a power of ten.
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_ylabel(panel.axis_label)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)


def _draw_infusion(
    ax: Axes,
    start: datetime | None,
    end: datetime | None,
    times: Sequence[datetime],
    *,
    label: bool,
) -> None:
    if start is None:
        return
    # Still running: shade up to the latest thing on the chart.
    end = end or max(times)
    ax.axvspan(
        _num(start),
        _num(max(end, start + timedelta(minutes=1))),
        color=INFUSION_COLOUR,
        alpha=INFUSION_ALPHA,
        linewidth=0,
        label="infusion" if label else None,
    )


def _draw_alerts(ax: Axes, alerts: Sequence[ChartAlert], panel: str, *, label: bool) -> None:
    labelled: set[str] = set()
    for index, alert in enumerate(alerts):
        ax.axvline(
            _num(alert.at),
            color=SEVERITY_COLOURS_BY_NAME.get(alert.severity, WARNING_COLOUR),
            linestyle="--",
            linewidth=1.4,
            label=f"{alert.severity} alert" if label and alert.severity not in labelled else None,
            gid=_element_id("alert", str(index), alert.severity, panel),
        )
        labelled.add(alert.severity)


def _draw_safety_flags(
    ax: Axes, instrument: str, scores: Sequence[ScorePoint], *, label: bool
) -> None:
    flagged = [p for p in scores if p.safety_flag]
    if not flagged:
        return
    ax.plot(
        [_num(p.at) for p in flagged],
        [p.total for p in flagged],
        linestyle="none",
        marker="D",
        markersize=11,
        markerfacecolor=CRITICAL_COLOUR,
        markeredgecolor="white",
        zorder=3,  # over the score's own marker
        label=SAFETY_LABEL if label else None,
        gid=_element_id("safety", instrument),
    )


def _draw_severity_bands(
    ax: Axes, instrument: str, bands: Sequence[SeverityBand], max_score: int
) -> None:
    # Half a point either side of the inclusive bounds, so every whole score sits inside
    # exactly one band, not on an edge between two.
    ax.set_ylim(-0.5, max_score + 0.5)
    label_position = blended_transform_factory(ax.transAxes, ax.transData)
    for index, band in enumerate(sorted(bands, key=lambda b: b.low)):
        shade = index * (len(SEVERITY_COLOURS) - 1) // max(len(bands) - 1, 1)
        ax.axhspan(
            band.low - 0.5,
            band.high + 0.5,
            color=SEVERITY_COLOURS[shade],
            linewidth=0,
            gid=_element_id("severity", instrument, band.label),
        )
        ax.text(
            0.995,
            (band.low + band.high) / 2,
            f"{band.label} ({band.low}-{band.high})",
            transform=label_position,
            ha="right",
            va="center",
            fontsize=7,
            color=BAND_LABEL_COLOUR,
        )


def _bands_by_panel(bands: Sequence[Band]) -> dict[str, list[Band]]:
    by_panel: dict[str, list[Band]] = {panel.name: [] for panel in _SESSION_PANELS}
    for band in bands:
        panel = next((name for name in by_panel if band.label.lower().startswith(name)), None)
        if panel is None:
            raise ValueError(f"Band {band.label!r} does not name a charted parameter.")
        by_panel[panel].append(band)
    return by_panel


@contextmanager
def _rendering() -> Iterator[None]:
    # A fixed salt (and no date, see _render): the same chart is the same bytes, cacheable
    # and testable. Text stays <text> (searchable, small) rather than glyph outlines.
    with _RENDER_LOCK, matplotlib.rc_context({"svg.hashsalt": "clinic", "svg.fonttype": "none"}):
        yield


def _element_id(*parts: str) -> str:
    """An SVG element id ("alert-0-critical-heart-rate"), for tests and stylesheets to find."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def _require_aware(times: Sequence[datetime]) -> None:
    if any(t.tzinfo is None or t.utcoffset() is None for t in times):
        raise ValueError("Chart times must be timezone-aware.")


def _num(at: datetime) -> float:
    return float(mdates.date2num(at))


def _render(fig: Figure, image_format: ImageFormat) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format=image_format, metadata={"Date": None} if image_format == "svg" else {}
    )
    return buffer.getvalue()
