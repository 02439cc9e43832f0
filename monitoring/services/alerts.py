"""Alerts: raising them (and paging for a critical one), escalation, missed readings,
acknowledgement. Vitals flagging and the PHQ-9 item-9 path both raise through `alerts_raise`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clinic.models import Channel, NotificationKind, Role, User
from clinic.services import (
    audit_record,
    notification_schedule,
)
from clinic.tasks import notification_deliver
from config.celery_app import enqueue_on_commit
from config.errors import Conflict
from monitoring.judgement import WATCHED_STATUSES
from monitoring.models import (
    Alert,
    AlertEscalation,
    AlertParameter,
    AlertStatus,
    Severity,
)
from scheduling.models import InfusionSession

# Missed reading: none for the protocol's interval plus this (CLINICAL.md).
MISSED_READING_SLACK = timedelta(minutes=5)
MAX_ESCALATION_LEVEL = 3


logger = logging.getLogger(__name__)


def alerts_raise(alerts: Sequence[Alert]) -> None:
    """Store new alerts and page for each critical one, in the caller's transaction: the one
    way an alert is raised, whatever raised it (a reading's flags, a PHQ-9 item-9 answer). The
    alerts' unique dedup keys refuse a second raise of the same one."""
    Alert.objects.bulk_create(alerts)
    for alert in alerts:
        if alert.severity == Severity.CRITICAL:
            _page(alert, level=0)


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
    transaction), hand them to the workers on commit, and record on the alert whom they went
    to. A level that reaches nobody (no phone or e-mail among its staff) goes up the chain at
    once, and the alert is marked unreachable: a page must never vanish in silence."""
    where = f" in session {alert.session_id}" if alert.session_id else ""
    paged: list[User] = []
    while True:
        body = (
            f"CRITICAL{' (escalated)' if level else ''}: {alert.message} "
            f"Patient #{alert.patient_id}{where}. Acknowledge in the clinic app."
        )
        for user in _recipients(alert, level):
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
            paged.append(user)
        if paged or level >= MAX_ESCALATION_LEVEL:
            break
        logger.warning("alert %s: nobody reachable at level %s; going up", alert.pk, level)
        alert.unreachable = True
        level += 1
    alert.paged = [*alert.paged, *(user.pk for user in paged if user.pk not in alert.paged)]
    if not paged:
        alert.unreachable = True
        logger.error(
            "alert %s: no reachable staff at any level of clinic %s", alert.pk, alert.clinic_id
        )
    Alert.objects.filter(pk=alert.pk).update(paged=alert.paged, unreachable=alert.unreachable)
    return paged


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
