"""Every write in the monitoring app: vitals ingest, flagging, alerts, escalation, missed
readings, and the clinical gates of a session (start, stop, discharge).

How none is lost (DESIGN.md 4): a reading is committed first; on commit a task flags it; a beat
sweep flags whatever is still unflagged a few seconds later (broker down, task lost). Flagging a
reading locks its row and checks `flagged_at`, so a task delivered twice creates nothing twice;
alerts also carry a unique dedup key as the database's own guarantee.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import NOT_PROVIDED, Max
from django.utils import timezone

from clinic.models import AuditAction, Channel, NotificationKind, Patient, Role, User
from clinic.services import (
    audit_record,
    notification_schedule,
    notifications_cancel,
    patient_contact,
)
from clinic.tasks import notification_deliver
from clinic.thresholds import effective_thresholds
from config.celery_app import enqueue_on_commit
from config.errors import ApplicationError, Conflict, Gone, Invalid, NotFound
from monitoring import instruments, rules, selectors
from monitoring.models import (
    MEASUREMENTS,
    AdverseEvent,
    Alert,
    AlertEscalation,
    AlertParameter,
    AlertStatus,
    InfusionStart,
    Severity,
    Survey,
    SurveyResponse,
    SurveySource,
    SurveyStatus,
    VitalReading,
)
from scheduling.models import InfusionSession, SessionStatus
from scheduling.services import (
    session_check_opened,
    session_lock_for,
    session_transition_record,
)

logger = logging.getLogger(__name__)

# Vitals are taken from check-in (the baseline) until discharge.
RECORDING_STATUSES = (SessionStatus.CHECKED_IN, SessionStatus.IN_PROGRESS, SessionStatus.RECOVERY)
WATCHED_STATUSES = (SessionStatus.IN_PROGRESS, SessionStatus.RECOVERY)
# A reading unflagged this long after it arrived is flagged by the sweep.
FLAG_SWEEP_GRACE = timedelta(seconds=3)
# Missed reading: none for the protocol's interval plus this (CLINICAL.md).
MISSED_READING_SLACK = timedelta(minutes=5)
# Discharge: the last reading must be at most this old (CLINICAL.md).
DISCHARGE_READING_MAX_AGE = timedelta(minutes=15)
MAX_ESCALATION_LEVEL = 3
COMPARED_FIELDS = (*MEASUREMENTS, "on_oxygen", "taken_at", "supersedes_id", "device_id")


# --- Context -------------------------------------------------------------------------------------


def rules_reading(reading: VitalReading) -> rules.Reading:
    return rules.Reading(
        systolic=reading.systolic,
        diastolic=reading.diastolic,
        heart_rate=reading.heart_rate,
        spo2=reading.spo2,
        respiratory_rate=reading.respiratory_rate,
        temperature_c=reading.temperature_c,
        consciousness=reading.consciousness,
        on_oxygen=reading.on_oxygen,
    )


def session_thresholds(session: InfusionSession) -> dict[str, Any]:
    return effective_thresholds(session.protocol.thresholds)


def session_baselines(session_ids: Sequence[int]) -> dict[int, VitalReading]:
    """The baseline reading of each of these sessions that has started, in one query."""
    starts = InfusionStart.objects.select_related("baseline_reading").filter(
        session_id__in=session_ids
    )
    return {start.session_id: start.baseline_reading for start in starts}


def evaluate(
    reading: VitalReading, *, thresholds: dict[str, Any], baseline: VitalReading | None
) -> list[rules.Flag]:
    return rules.evaluate(
        rules_reading(reading),
        thresholds=thresholds,
        baseline=rules_reading(baseline)
        if baseline is not None and baseline.pk != reading.pk
        else None,
    )


def flags_json(flags: Iterable[rules.Flag]) -> list[dict[str, str]]:
    return [
        {"parameter": f.parameter, "severity": f.severity, "value": f.value, "message": f.message}
        for f in flags
    ]


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
        session = selectors.session_for_ingest_locked(user=actor, session_id=session_id)
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
        Alert.objects.bulk_create(alerts)
        for alert in alerts:
            if alert.severity == Severity.CRITICAL:
                _page(alert, level=0)
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


# --- Paging and escalation -----------------------------------------------------------------------


def _contact(user: User) -> tuple[str, str] | None:
    if user.phone:
        return Channel.SMS, user.phone
    if user.email:
        return Channel.EMAIL, user.email
    return None


def _recipients(alert: Alert, level: int) -> list[User]:
    """Level 0: the session's nurse and the clinic's clinicians (the clinicians on duty).
    Level 1 and up: the clinicians again, and the clinic's admins."""
    roles = [Role.CLINICIAN] if level == 0 else [Role.CLINICIAN, Role.ADMIN]
    staff = list(
        User.objects.filter(clinics=alert.clinic_id, role__in=roles, is_active=True).order_by("pk")
    )
    nurse = alert.session.nurse if alert.session_id and alert.session else None
    if level == 0 and nurse is not None and nurse not in staff:
        staff.insert(0, nurse)
    return staff


def _page(alert: Alert, *, level: int) -> list[User]:
    """Write urgent messages about a critical alert to the outbox (in the caller's
    transaction) and hand them to the workers on commit."""
    recipients = _recipients(alert, level)
    where = f" in session {alert.session_id}" if alert.session_id else ""
    body = (
        f"CRITICAL{' (escalated)' if level else ''}: {alert.message} "
        f"Patient #{alert.patient_id}{where}. Acknowledge in the clinic app."
    )
    for user in recipients:
        contact = _contact(user)
        if contact is None:
            continue
        channel, address = contact
        notification = notification_schedule(
            clinic=alert.clinic,
            kind=NotificationKind.ALERT,
            channel=channel,
            recipient=address,
            recipient_user=user,
            subject="Critical alert",
            body=body,
            scheduled_for=timezone.now(),
            dedup_key=f"alert:{alert.pk}:level{level}:user{user.pk}",
            patient=alert.patient,
            urgent=True,
            session=alert.session_id,
        )
        enqueue_on_commit(notification_deliver, notification.pk)
    return recipients


def alerts_escalate_due() -> int:
    """Beat sweep: page again, up the chain, every critical alert still open after the
    clinic's escalation delay. Each escalation is claimed with a conditional UPDATE so that two
    sweeps never page twice for the same level."""
    now = timezone.now()
    escalated = 0
    candidates = Alert.objects.filter(
        status=AlertStatus.OPEN,
        severity=Severity.CRITICAL,
        escalation_level__lt=MAX_ESCALATION_LEVEL,
    ).select_related("clinic", "patient", "session__nurse")[:500]
    for alert in candidates:
        delay = timedelta(minutes=alert.clinic.alert_escalation_minutes)
        since = alert.last_escalated_at or alert.created_at
        if now - since < delay:
            continue
        level = alert.escalation_level + 1
        with transaction.atomic():
            claimed = Alert.objects.filter(
                pk=alert.pk, status=AlertStatus.OPEN, escalation_level=alert.escalation_level
            ).update(escalation_level=level, last_escalated_at=now)
            if claimed != 1:
                continue  # acknowledged meanwhile, or another sweep escalated it
            recipients = _page(alert, level=level)
            record = AlertEscalation.objects.create(alert=alert, level=level, at=now)
            record.recipients.set(recipients)
            audit_record(
                actor=None,
                action="alert_escalate",
                object_type="alert",
                object_id=alert.pk,
                patient=alert.patient_id,
            )
        escalated += 1
    return escalated


# --- Missed readings -----------------------------------------------------------------------------


def missed_readings_detect() -> int:
    """Beat sweep: a session in progress or recovery with no reading for its protocol's interval
    plus 5 minutes raises one missed_reading warning per gap (the gap is named by its start)."""
    now = timezone.now()
    sessions = (
        InfusionSession.objects.filter(status__in=WATCHED_STATUSES)
        .select_related("protocol", "clinic", "patient")
        .annotate(last_taken=Max("readings__taken_at"))
    )
    raised = 0
    for session in sessions:
        gap_start = max(filter(None, [session.last_taken, session.started_at]), default=None)
        if gap_start is None:
            continue
        allowed = timedelta(minutes=session.protocol.vitals_interval_minutes) + MISSED_READING_SLACK
        if now - gap_start <= allowed:
            continue
        _, created = Alert.objects.get_or_create(
            dedup_key=f"missed:{session.pk}:{gap_start.isoformat()}",
            defaults={
                "clinic": session.clinic,
                "patient": session.patient,
                "session": session,
                "parameter": AlertParameter.MISSED_READING,
                "severity": Severity.WARNING,
                "message": (
                    f"No vital signs since {gap_start.astimezone(session.clinic.zone):%H:%M}: "
                    f"a reading is due every {session.protocol.vitals_interval_minutes} minutes."
                ),
                "value": f"{int((now - gap_start).total_seconds() // 60)} min",
            },
        )
        raised += created
    return raised


# --- Alerts --------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def alert_acknowledge(*, actor: User, alert: Alert, note: str) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != AlertStatus.OPEN:
        raise Conflict(
            "invalid_transition",
            "This alert has already been acknowledged.",
        )
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = actor
    alert.acknowledged_at = timezone.now()
    alert.note = note
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "note"])
    audit_record(
        actor=actor,
        action="alert_acknowledge",
        object_type="alert",
        object_id=alert.pk,
        patient=alert.patient_id,
    )
    return alert


# --- Session gates -------------------------------------------------------------------------------


def _gate_failure(message: str, failures: list[str], **extra: Any) -> ApplicationError:
    return Conflict(
        "pre_start_check_failed",
        message,
        extra={"failures": failures, **extra},
    )


def latest_reading(
    session: InfusionSession, *, since: datetime | None = None
) -> VitalReading | None:
    """The most recent reading that no correction has replaced."""
    readings = VitalReading.objects.filter(session=session, superseded_by__isnull=True)
    if since is not None:
        readings = readings.filter(taken_at__gte=since)
    return readings.order_by("-taken_at", "-received_at").first()


@transaction.atomic(durable=True)
def session_start(
    *, actor: User, session: InfusionSession, override_reason: str = ""
) -> InfusionSession:
    """Start the infusion: needs a baseline taken at or after check-in, within the pre-start
    gate (CLINICAL.md), unless a clinician overrides with a written reason (both are kept).
    Records the dose from the most recent weight."""
    session, before = session_lock_for(session, "start")
    now = timezone.now()
    session_check_opened(session, "start", now)
    baseline = latest_reading(session, since=session.checked_in_at)
    if baseline is None:
        raise _gate_failure(
            "A baseline reading taken at or after check-in is needed before the start.",
            ["no baseline reading"],
        )
    thresholds = session_thresholds(session)
    failures = rules.pre_start_gate_failures(rules_reading(baseline), thresholds)
    if baseline.systolic is None and baseline.diastolic is None:
        failures.append("The baseline has no blood pressure.")
    if session.fasting_confirmed is False:
        failures.append("Fasting was not confirmed at check-in.")
    override_reason = override_reason.strip()
    if failures:
        if not override_reason:
            raise _gate_failure(
                "The pre-start checks failed: " + " ".join(failures),
                failures,
                baseline=str(baseline.pk),
            )
        if actor.effective_role != Role.CLINICIAN:
            raise _gate_failure(
                "Only a clinician may override the pre-start checks.",
                failures,
                baseline=str(baseline.pk),
            )
    weight = session.weight_kg or session.patient.weight_kg
    dose = (session.protocol.dose_mg_per_kg * weight).quantize(Decimal("0.01"), ROUND_HALF_UP)
    InfusionStart.objects.create(
        session=session,
        baseline_reading=baseline,
        weight_kg=weight,
        dose_mg_per_kg=session.protocol.dose_mg_per_kg,
        dose_mg=dose,
        gate_failures=failures,
        override_reason=override_reason if failures else "",
        override_by=actor if failures else None,
        started_by=actor,
        started_at=now,
    )
    session.status = SessionStatus.IN_PROGRESS
    session.started_at = now
    session.save(update_fields=["status", "started_at"])
    session_transition_record(
        session,
        action="start",
        actor=actor,
        from_status=before,
        reason=override_reason if failures else "",
        details={"dose_mg": str(dose), "weight_kg": str(weight), "gate_failures": failures},
    )
    return session


def _adverse_event(session: InfusionSession, actor: User, event: dict[str, Any]) -> AdverseEvent:
    adverse = AdverseEvent.objects.create(session=session, recorded_by=actor, **event)
    audit_record(
        actor=actor,
        action="create",
        object_type="adverse_event",
        object_id=adverse.pk,
        patient=session.patient_id,
    )
    return adverse


@transaction.atomic(durable=True)
def session_stop(
    *,
    actor: User,
    session: InfusionSession,
    reason: str,
    adverse_event: dict[str, Any] | None = None,
) -> InfusionSession:
    """End an infusion early, with a reason and (usually) the adverse event that caused it."""
    session, before = session_lock_for(session, "stop")
    session.status = SessionStatus.STOPPED
    session.save(update_fields=["status"])
    details: dict[str, Any] = {}
    if adverse_event:
        details["adverse_event"] = _adverse_event(session, actor, adverse_event).pk
    session_transition_record(
        session, action="stop", actor=actor, from_status=before, reason=reason, details=details
    )
    return session


def discharge_failures(session: InfusionSession, now: datetime) -> list[str]:
    """What stands between the patient and going home (CLINICAL.md "Discharge")."""
    failures = []
    last = latest_reading(session)
    if last is None:
        failures.append("There is no reading.")
    else:
        if now - last.taken_at > DISCHARGE_READING_MAX_AGE:
            failures.append("The last reading is more than 15 minutes old.")
        if not rules.within_warning_limits(rules_reading(last), session_thresholds(session)):
            failures.append("The last reading is outside the warning limits.")
    if Alert.objects.filter(
        session=session, status=AlertStatus.OPEN, severity=Severity.CRITICAL
    ).exists():
        failures.append("A critical alert is still open.")
    if not session.escort_confirmed:
        failures.append("No escort or driver was confirmed.")
    return failures


@transaction.atomic(durable=True)
def session_discharge(*, actor: User, session: InfusionSession) -> InfusionSession:
    session, before = session_lock_for(session, "discharge")
    failures = discharge_failures(session, timezone.now())
    if failures:
        raise Conflict(
            "discharge_criteria_unmet",
            "Not ready for discharge: " + " ".join(failures),
            extra={"failures": failures},
        )
    session.status = SessionStatus.DISCHARGED
    session.save(update_fields=["status"])
    session_transition_record(session, action="discharge", actor=actor, from_status=before)
    _followups_for(session)
    return session


@transaction.atomic(durable=True)
def adverse_event_record(
    *, actor: User, session: InfusionSession, event: dict[str, Any]
) -> AdverseEvent:
    session = InfusionSession.objects.select_for_update(no_key=True).get(pk=session.pk)
    if session.status not in (*RECORDING_STATUSES, SessionStatus.STOPPED, SessionStatus.DISCHARGED):
        raise Conflict(
            "session_not_active",
            "Adverse events are recorded for a session that has begun.",
        )
    return _adverse_event(session, actor, event)


# --- Questionnaires ------------------------------------------------------------------------------

SURVEY_LINK_TEXT = (
    "{clinic}: please answer a short questionnaire about how you have been feeling over the "
    "last 2 weeks. It takes about 2 minutes: {url} (the link works once, until {expires})."
)
SURVEY_REMINDER_TEXT = (
    "{clinic}: a reminder to answer your short questionnaire: {url} (until {expires})."
)
# One reminder this long after the link, if the survey is still pending (and not expired).
SURVEY_REMINDER_AFTER = timedelta(hours=24)


def survey_token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def survey_url(raw_token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/s/{raw_token}/"


def _survey_create(
    *,
    patient: Patient,
    instrument: str,
    source: str,
    due_at: datetime,
    actor: User | None = None,
    session: InfusionSession | None = None,
) -> tuple[Survey, str]:
    """Create a survey and write its link and one reminder to the outbox, in the caller's
    transaction. The raw token leaves this function only in the messages and the return value:
    the database keeps its hash."""
    clinic = patient.clinic
    raw = secrets.token_urlsafe(32)  # 256 bits
    survey = Survey.objects.create(
        clinic=clinic,
        patient=patient,
        instrument=instrument,
        token_hash=survey_token_hash(raw),
        source=source,
        session=session,
        due_at=due_at,
        expires_at=due_at + timedelta(days=clinic.survey_expiry_days),
        created_by=actor,
    )
    contact = patient_contact(patient=patient)
    if contact is not None:
        channel, address = contact
        expires = f"{survey.expires_at.astimezone(clinic.zone):%A %d %B}"
        url = survey_url(raw)
        messages = [
            (NotificationKind.SURVEY_LINK, SURVEY_LINK_TEXT, due_at, "link"),
            (
                NotificationKind.SURVEY_REMINDER,
                SURVEY_REMINDER_TEXT,
                due_at + SURVEY_REMINDER_AFTER,
                "reminder",
            ),
        ]
        for kind, text, when, name in messages:
            if when >= survey.expires_at:
                continue
            notification_schedule(
                clinic=clinic,
                kind=kind,
                channel=channel,
                recipient=address,
                subject="A short questionnaire from your clinic",
                body=text.format(clinic=clinic.name, url=url, expires=expires),
                scheduled_for=when,
                dedup_key=f"survey:{survey.pk}:{name}",
                patient=patient,
                survey=survey.pk,
            )
    audit_record(
        actor=actor, action="create", object_type="survey", object_id=survey.pk, patient=patient
    )
    return survey, raw


@transaction.atomic(durable=True)
def survey_send(
    *, actor: User, patient: Patient, instrument: str, due_at: datetime | None = None
) -> tuple[Survey, str]:
    """Staff send a questionnaire; returns the survey and its raw token (for the link)."""
    if instrument not in instruments.INSTRUMENTS:
        raise Invalid(
            "invalid", "Unknown instrument.", fields={"instrument": ["Unknown instrument."]}
        )
    return _survey_create(
        patient=patient,
        instrument=instrument,
        source=SurveySource.STAFF,
        due_at=due_at or timezone.now(),
        actor=actor,
    )


def _followups_for(session: InfusionSession) -> None:
    """The day-after questionnaires of a discharged infusion (clinic cadence settings)."""
    clinic = session.clinic
    if not clinic.survey_followup_days:
        return
    today = timezone.now().astimezone(clinic.zone).date()
    day = today + timedelta(days=clinic.survey_followup_days)
    due = datetime.combine(day, clinic.survey_followup_time, tzinfo=clinic.zone)
    for code in instruments.INSTRUMENTS:
        exists = Survey.objects.filter(
            session=session, instrument=code, source=SurveySource.FOLLOW_UP
        ).exists()
        if not exists:
            _survey_create(
                patient=session.patient,
                instrument=code,
                source=SurveySource.FOLLOW_UP,
                due_at=due,
                session=session,
            )


def surveys_create_baselines(*, limit: int = 200) -> int:
    """Beat job: a baseline PHQ-9 and GAD-7 for every patient who has a session booked, has had
    no infusion yet, and has no baseline survey. (A sweep rather than a call from booking:
    scheduling does not depend on monitoring.)"""
    patients = (
        Patient.objects.filter(
            clinic__survey_baseline_enabled=True,
            sessions__status=SessionStatus.SCHEDULED,
        )
        .exclude(sessions__started_at__isnull=False)
        .exclude(surveys__source=SurveySource.BASELINE)
        .select_related("clinic")
        .distinct()[:limit]
    )
    created = 0
    for patient in patients:
        with transaction.atomic():
            for code in instruments.INSTRUMENTS:
                _survey_create(
                    patient=patient,
                    instrument=code,
                    source=SurveySource.BASELINE,
                    due_at=timezone.now(),
                )
                created += 1
    return created


def surveys_expire_overdue() -> int:
    """Beat job: pending surveys past their expiry become expired; their messages stop."""
    now = timezone.now()
    expired = 0
    for survey_id in Survey.objects.filter(
        status=SurveyStatus.PENDING, expires_at__lte=now
    ).values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            changed = Survey.objects.filter(pk=survey_id, status=SurveyStatus.PENDING).update(
                status=SurveyStatus.EXPIRED
            )
            if changed:
                notifications_cancel(survey=survey_id)
                expired += 1
    return expired


def survey_require_open(survey: Survey | None, *, now: datetime) -> Survey:
    """The survey, if its link may still be answered; else the error the patient should see:
    404 unknown, 409 already answered, 410 expired."""
    if survey is None:
        raise NotFound()
    if survey.status == SurveyStatus.COMPLETED:
        raise Conflict(
            "already_completed",
            "This questionnaire has already been answered. Thank you.",
        )
    if survey.status == SurveyStatus.EXPIRED or survey.expires_at <= now:
        raise Gone(
            "expired",
            "This link has expired. Your clinic will send you a new one.",
        )
    return survey


@dataclass(frozen=True)
class SurveySubmission:
    survey: Survey
    response: SurveyResponse
    crisis_text: str | None


def survey_submit(*, raw_token: str, answers: Any) -> SurveySubmission:
    """Record a patient's answers, once. Two submits racing: the row lock lets one in, the other
    finds it completed (409). An answer >= 1 on PHQ-9 item 9 raises a critical alert for the
    patient's clinicians through the same pipeline as a critical vital sign."""
    with transaction.atomic(durable=True):
        survey = (
            Survey.objects.select_for_update(of=("self",))
            .select_related("clinic", "patient")
            .filter(token_hash=survey_token_hash(raw_token))
            .first()
        )
        now = timezone.now()
        survey = survey_require_open(survey, now=now)
        instrument = instruments.get(survey.instrument)
        try:
            result = instrument.score(answers)
        except instruments.AnswerError as exc:
            raise Invalid("invalid", exc.message, fields={"answers": [exc.message]}) from exc
        response = SurveyResponse.objects.create(
            survey=survey,
            answers=list(result.answers),
            total_score=result.total,
            severity=result.severity,
            safety_flag=result.safety_flag,
            completed_at=now,
        )
        survey.status = SurveyStatus.COMPLETED
        survey.completed_at = now
        survey.save(update_fields=["status", "completed_at"])
        notifications_cancel(survey=survey.pk)
        audit_record(
            actor=None,
            action="survey_submit",
            object_type="survey",
            object_id=survey.pk,
            patient=survey.patient,
        )
        if result.safety_flag:
            alert = Alert.objects.create(
                clinic=survey.clinic,
                patient=survey.patient,
                session=survey.session,
                parameter=AlertParameter.PHQ9_ITEM9,
                severity=Severity.CRITICAL,
                message=(
                    "PHQ-9 item 9 (thoughts of being better off dead or of self-harm) answered "
                    "above 'not at all': contact the patient now."
                ),
                value=str(result.answers[(instrument.safety_item or 1) - 1]),
                dedup_key=f"survey:{survey.pk}:phq9_item9",
            )
            _page(alert, level=0)
    return SurveySubmission(
        survey=survey,
        response=response,
        crisis_text=survey.clinic.crisis_text if result.safety_flag else None,
    )
