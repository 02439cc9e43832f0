"""Vitals: ingest (the tablets' and the monitors' readings) and flagging.

How none is lost (DESIGN.md 4): a reading is committed first; on commit a task flags it; a beat
sweep flags whatever is still unflagged a few seconds later (broker down, task lost). Flagging a
reading locks its row and checks `flagged_at`, so a task delivered twice creates nothing twice;
alerts also carry a unique dedup key as the database's own guarantee.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from clinic.models import AuditAction, User
from clinic.services import (
    audit_record,
)
from config.celery_app import enqueue_on_commit
from config.errors import Conflict, Invalid
from monitoring.judgement import (
    RECORDING_STATUSES,
    WATCHED_STATUSES,
    evaluate,
    flags_json,
    session_thresholds,
)
from monitoring.models import (
    MEASUREMENTS,
    Alert,
    VitalReading,
)
from monitoring.selectors.vitals import session_baselines, session_for_ingest_locked
from monitoring.services.alerts import alerts_raise
from scheduling.models import InfusionSession

logger = logging.getLogger(__name__)

# A reading unflagged this long after it arrived is flagged by the sweep.
FLAG_SWEEP_GRACE = timedelta(seconds=3)
# Missed reading: none for the protocol's interval plus this (CLINICAL.md).
COMPARED_FIELDS = (*MEASUREMENTS, "on_oxygen", "taken_at", "supersedes_id", "device_id")

# --- Ingest --------------------------------------------------------------------------------------


def _same_content(stored: VitalReading, given: dict[str, Any], session: InfusionSession) -> bool:
    if stored.session_id != session.pk:
        return False
    for field in COMPARED_FIELDS:
        default: Any = False if field == "on_oxygen" else ("" if field == "device_id" else None)
        wanted = given.get(field, default)
        have = getattr(stored, field)
        if field == "temperature_c" and wanted is not None:
            wanted = Decimal(wanted)
        if have != wanted:
            return False
    return True


def vital_readings_record(
    *, actor: User, session_id: object, readings: Sequence[dict[str, Any]]
) -> tuple[list[VitalReading], bool]:
    """Store readings in a session of the actor's scope (404 outside it), all-or-nothing;
    return them and whether any was new.

    A reading whose id is known and whose content is the same is a replay (nothing stored
    again); the same id with other content is a conflict. A constant number of queries
    whatever the batch size.

    Ingests of one session take turns on its row's lock, so a tablet's retry racing its own
    first attempt finds the stored reading and is a replay, not a duplicate key; a status
    change (a start, a discharge) waits for them and they for it, so no reading lands after a
    discharge or is judged against a baseline about to change."""
    ids = [r["id"] for r in readings]
    if len(set(ids)) != len(ids):
        raise Invalid(
            "invalid", "The same reading id appears twice.", fields={"id": ["Duplicate id."]}
        )
    with transaction.atomic(durable=True):
        session = session_for_ingest_locked(user=actor, session_id=session_id)
        current = session.status
        baseline = _baseline_of(session)
        if current not in RECORDING_STATUSES:
            raise Conflict(
                "session_not_active",
                f"Vitals are recorded from check-in to discharge; this session is "
                f"{current.replace('_', ' ')}.",
                extra={"status": current},
            )
        known = _readings_known(ids)
        for given in readings:
            stored = known.get(given["id"])
            if stored is not None and not _same_content(stored, given, session):
                raise Conflict(
                    "idempotency_conflict",
                    f"Reading {given['id']} was already received with other content.",
                    extra={"id": str(given["id"])},
                )
        _check_supersedes(session, [r for r in readings if r["id"] not in known])
        now = timezone.now()
        stamp = {"session_id": session.pk, "recorded_by_id": actor.pk, "received_at": now}
        new = [
            _reading_new({**_READING_DEFAULTS, **given, **stamp, "flags": []})
            for given in readings
            if given["id"] not in known
        ]
        abnormal = _judge(session, baseline, new, now)
        if new:
            _readings_copy(new)
        # One event per upload for what it stored, stamped with the readings' received_at: with
        # the actor and the session it names exactly those readings. Replayed readings are
        # answered from the table: a read.
        for action, happened in ((AuditAction.CREATE, new), (AuditAction.READ, known)):
            if happened:
                audit_record(
                    actor=actor,
                    action=action,
                    object_type="vital_readings",
                    object_id=session.pk,
                    patient=session.patient_id,
                    at=now,
                )
        if abnormal:
            enqueue_on_commit(_flag_task(), [str(reading.pk) for reading in abnormal])
    by_id = {**known, **{reading.pk: reading for reading in new}}
    return [by_id[i] for i in ids], bool(new)


def _judge(
    session: InfusionSession,
    baseline: VitalReading | None,
    new: list[VitalReading],
    now: datetime,
) -> list[VitalReading]:
    """Give new readings their flags as they are stored (what the nurse sees in the answer),
    mark those with none as flagged, and return the others: the flagging task turns them into
    alerts and pages.

    Evaluated under the session's lock, with the baseline read under it too (a start takes the
    same lock), so this is the verdict the task would reach; a normal reading has nothing more
    to become. The worker then carries only what can raise an alert: under a steady load of
    normal readings, the abnormal one no longer queues behind their tasks (README
    "Performance")."""
    if not new:
        return []
    thresholds = session_thresholds(session)
    abnormal = []
    for reading in new:
        reading.flags = flags_json(evaluate(reading, thresholds=thresholds, baseline=baseline))
        if reading.flags:
            abnormal.append(reading)
        else:
            reading.flagged_at = now
    return abnormal


def _baseline_of(session: InfusionSession) -> VitalReading | None:
    """The baseline of a session just locked by `session_for_ingest_locked`, as committed now.

    The locking query joins the start in, but in READ COMMITTED a query that waited for a lock
    sees the locked row as it is now and the rows it joins as they were when it began: an
    ingest that waited for a start to commit has the started session and no start, and would
    settle a reading without its rise from baseline. Starts never change once written, so only
    a missing one needs reading again (a test holds this)."""
    start = getattr(session, "start", None)  # a reverse one-to-one raises when there is none
    if start is not None:
        return start.baseline_reading
    if session.status not in WATCHED_STATUSES:
        return None  # not started
    return session_baselines([session.pk]).get(session.pk)


_READING_FIELDS = VitalReading._meta.concrete_fields
_READING_NAMES = tuple(field.attname for field in _READING_FIELDS)
# What a reading left out takes (None, "", False); the id, flags and received_at are given.
_READING_DEFAULTS = {
    field.attname: field.get_default()
    for field in _READING_FIELDS
    if field.default is NOT_PROVIDED or not callable(field.default)
}
_READING_FLAGS = _READING_NAMES.index("flags")
_READING_TABLE = connection.ops.quote_name(VitalReading._meta.db_table)
_READING_COPY = "COPY {table} ({columns}) FROM STDIN".format(
    table=_READING_TABLE,
    columns=", ".join(connection.ops.quote_name(str(field.column)) for field in _READING_FIELDS),
)


def _reading_new(values: dict[str, Any]) -> VitalReading:
    # Positional arguments, in field order, take Model.__init__'s fast path: half the time of
    # keywords. (django-stubs types only the first positional argument, as the id.)
    return VitalReading(*[values[name] for name in _READING_NAMES])  # type: ignore[misc]


def _readings_known(ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, VitalReading]:
    """The readings among `ids` already stored (replays, or conflicts). Usually there are none,
    which one query with a single array parameter tells: `in_bulk` of a 100-reading upload
    prepares 100 parameters through the field (a tenth of the request in a cProfile)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {_READING_TABLE} WHERE id = ANY(%s)", [list(ids)])  # noqa: S608
        found = [row[0] for row in cursor.fetchall()]
    return VitalReading.objects.in_bulk(found) if found else {}


def _readings_copy(readings: Sequence[VitalReading]) -> None:
    """Store new readings with COPY, as the benchmark's floor does: psycopg adapts the values
    in C, where `bulk_create` prepares every value of every row through its field in Python
    (README "Performance"). The table's constraints and triggers hold as for an INSERT; a
    violation surfaces as Django's IntegrityError."""
    began = time.monotonic()
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(_READING_COPY) as copy,
    ):
        for reading in readings:
            row = [getattr(reading, name) for name in _READING_NAMES]
            row[_READING_FLAGS] = json.dumps(row[_READING_FLAGS])
            copy.write_row(row)
    if connection.queries_logged:
        # Logged as Django's cursor logs execute(), so query counts (tests, the bench's
        # profile) see it: COPY goes to psycopg's cursor directly.
        connection.queries_log.append(
            {
                "sql": f"{_READING_COPY} ({len(readings)} rows)",
                "time": f"{time.monotonic() - began:.3f}",
            }
        )


def _flag_task() -> Any:
    from monitoring.tasks import vital_readings_flag

    return vital_readings_flag


def _check_supersedes(session: InfusionSession, new: Sequence[dict[str, Any]]) -> None:
    targets = [r["supersedes_id"] for r in new if r.get("supersedes_id")]
    if not targets:
        return
    found = dict(VitalReading.objects.filter(pk__in=targets).values_list("pk", "session_id"))
    taken = set(
        VitalReading.objects.filter(supersedes_id__in=targets).values_list(
            "supersedes_id", flat=True
        )
    )
    for target in targets:
        if found.get(target) != session.pk:
            raise Invalid(
                "invalid",
                "A correction must supersede a reading of the same session.",
                fields={"supersedes": [f"Unknown reading {target}."]},
            )
        if target in taken or targets.count(target) > 1:
            raise Conflict(
                "already_superseded",
                f"Reading {target} has already been corrected; correct the correction instead.",
            )


# --- Flagging ------------------------------------------------------------------------------------


def vital_readings_flag(*, reading_ids: Sequence[str | uuid.UUID]) -> int:
    """Flag readings and raise their alerts; return how many alerts were created.

    A batch (a 100-reading upload) is flagged in one transaction with a constant number of
    queries. Should that fail on some bad row, each reading is tried in its own transaction, so
    that one bad row cannot hold back the others."""
    try:
        return _flag(reading_ids)
    except (OperationalError, InterfaceError):
        raise  # the database is away: every reading would fail; the task or sweep retries
    except Exception:
        if len(reading_ids) == 1:
            raise
    created = 0
    for reading_id in reading_ids:
        try:
            created += _flag([reading_id])
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            # Left unflagged, and loud: the sweep tries it again, and the log says why.
            logger.exception("flagging reading %s failed", reading_id)
    return created


def _flag(reading_ids: Sequence[str | uuid.UUID]) -> int:
    with transaction.atomic():
        readings = list(
            # NO KEY: a correction or a start pointing at these readings need not wait.
            VitalReading.objects.select_for_update(of=("self",), no_key=True)
            .select_related("session__protocol", "session__clinic", "session__patient")
            .filter(pk__in=reading_ids, flagged_at__isnull=True)
            .order_by("pk")  # one lock order for every worker: no deadlock between batches
        )
        if not readings:
            return 0  # flagged already (a task delivered twice, or the sweep got there first)
        sessions = {reading.session_id: reading.session for reading in readings}
        baselines = session_baselines(list(sessions))
        thresholds = {pk: session_thresholds(session) for pk, session in sessions.items()}
        now = timezone.now()
        alerts: list[Alert] = []
        for reading in readings:
            session = reading.session
            flags = evaluate(
                reading,
                thresholds=thresholds[session.pk],
                baseline=baselines.get(session.pk),
            )
            reading.flags = flags_json(flags)
            reading.flagged_at = now
            alerts.extend(
                Alert(
                    clinic=session.clinic,
                    patient=session.patient,
                    session=session,
                    reading=reading,
                    parameter=flag.parameter,
                    severity=flag.severity,
                    message=flag.message,
                    value=flag.value,
                    dedup_key=f"reading:{reading.pk}:{flag.parameter}",
                )
                for flag in flags
            )
        VitalReading.objects.bulk_update(readings, ["flags", "flagged_at"])
        alerts_raise(alerts)
        return len(alerts)


def vital_readings_flag_unflagged(*, limit: int = 1000) -> int:
    """Beat sweep: flag every reading still unflagged after a few seconds."""
    stale = list(
        VitalReading.objects.filter(
            flagged_at__isnull=True, received_at__lte=timezone.now() - FLAG_SWEEP_GRACE
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    return vital_readings_flag(reading_ids=stale)
