"""Reads of vital signs: the session as ingest and the vitals list see it, its readings, its
baseline, its latest reading."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from clinic.audit import audit_read
from clinic.models import User
from config.errors import get_or_not_found
from monitoring.models import (
    InfusionStart,
    VitalReading,
)
from scheduling.models import InfusionSession
from scheduling.selectors import session_list


def session_for_vitals(*, user: User, session_id: object) -> InfusionSession:
    """The session in the caller's scope, with what the vitals rules read (its protocol) and
    without what they do not (its transitions)."""
    sessions = session_list(user=user).prefetch_related(None).select_related("protocol")
    return get_or_not_found(sessions, pk=session_id)


def session_for_ingest_locked(*, user: User, session_id: object) -> InfusionSession:
    """`session_for_vitals` with its start and baseline reading, the session's row (and only
    its row: no clinic or protocol locked with it, or every ingest of a clinic would queue on
    one row) locked FOR NO KEY UPDATE to the end of the caller's transaction. One query: the
    hot path of ingest."""
    sessions = (
        session_list(user=user)
        .prefetch_related(None)
        .select_related("protocol", "start__baseline_reading")
        .select_for_update(no_key=True, of=("self",))
    )
    return get_or_not_found(sessions, pk=session_id)


def reading_list(*, session: InfusionSession) -> QuerySet[VitalReading]:
    return VitalReading.objects.filter(session=session).order_by("taken_at", "received_at")


def session_readings(*, user: User, session_id: object) -> list[VitalReading]:
    """A session's readings in the caller's scope, in taken_at order; the read is audited."""
    session = session_for_vitals(user=user, session_id=session_id)
    readings = reading_list(session=session)
    audit_read(
        actor=user, object_type="vital_readings", object_id=session.pk, patient=session.patient_id
    )
    return list(readings)


def session_baselines(session_ids: Sequence[int]) -> dict[int, VitalReading]:
    """The baseline reading of each of these sessions that has started, in one query."""
    starts = InfusionStart.objects.select_related("baseline_reading").filter(
        session_id__in=session_ids
    )
    return {start.session_id: start.baseline_reading for start in starts}


def latest_reading(
    session: InfusionSession, *, since: datetime | None = None
) -> VitalReading | None:
    """The most recent reading that no correction has replaced."""
    readings = VitalReading.objects.filter(session=session, superseded_by__isnull=True)
    if since is not None:
        readings = readings.filter(taken_at__gte=since)
    return readings.order_by("-taken_at", "-received_at").first()


def latest_values(
    session: InfusionSession, *, since: datetime, fields: Sequence[str]
) -> dict[str, tuple[Any, datetime]]:
    """For each of `fields`, its most recent value (and when it was taken) among the readings
    taken since `since` that no correction has replaced. One query."""
    readings = (
        VitalReading.objects.filter(
            session=session, superseded_by__isnull=True, taken_at__gte=since
        )
        .order_by("-taken_at", "-received_at")
        .values("taken_at", *fields)
    )
    latest: dict[str, tuple[Any, datetime]] = {}
    for row in readings:
        for name in fields:
            if name not in latest and row[name] is not None:
                latest[name] = (row[name], row["taken_at"])
    return latest
