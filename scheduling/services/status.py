"""The session's status: the one place that changes it.

Every status change, whichever app asks for it, goes through `session_lock` (the session's row,
FOR NO KEY UPDATE of the session only, with the action checked against the state machine in
scheduling/lifecycle.py) and then `session_status_change` (the new status saved, the transition
and its audit event recorded) in the same transaction. Scheduling's own moves (check-in,
complete, cancel, a series' cancellation, no-show) are here; monitoring's clinical gates
(start, stop, discharge) add their checks and call the same two functions.
docs/architecture.md has the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from clinic.models import (
    User,
)
from clinic.services import (
    audit_record,
    notifications_cancel,
)
from config.errors import ApplicationError, Conflict, Invalid
from scheduling import lifecycle
from scheduling.models import (
    RELEASED_STATUSES,
    InfusionSeries,
    InfusionSession,
    SessionStatus,
    SessionTransition,
)


def session_transition_record(
    session: InfusionSession,
    *,
    action: str,
    actor: User | None,
    from_status: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Keep a move of the session (with its audit event). Status changes come through
    `session_status_change`; a booking ("book", from no status) records itself here."""
    SessionTransition.objects.create(
        session=session,
        from_status=from_status,
        to_status=session.status,
        action=action,
        actor=actor,
        reason=reason,
        details=details or {},
    )
    audit_record(
        actor=actor,
        action=f"session_{action}",
        object_type="session",
        object_id=session.pk,
        patient=session.patient_id,
    )


def _transaction_of_caller() -> object:
    """What identifies the transaction in progress: its outermost atomic block. (A decorator's
    block is reused by later calls, so this tells "in this service call" apart from "outside
    any transaction" or "another service's", not one call of a service from the next.)"""
    return connection.atomic_blocks[0] if connection.in_atomic_block else None


def session_lock(session: InfusionSession, action: str) -> InfusionSession:
    """Lock the session's row for `action` and check that the action is allowed from its
    current status; the caller owns the transaction and changes the status with
    `session_status_change` before it ends.

    FOR NO KEY UPDATE of the session only: locking the clinic, patient, protocol and chair joined
    in would block every booking of the clinic and invite deadlocks. Ingests of the session take
    the same lock, so no reading lands between a check here and the change."""
    if not connection.in_atomic_block:
        raise RuntimeError("session_lock needs a transaction: the lock ends with it")
    locked = (
        InfusionSession.objects.select_for_update(of=("self",), no_key=True)
        .select_related("clinic", "patient", "protocol", "chair")
        .get(pk=session.pk)
    )
    if not lifecycle.allowed(action, locked.status):
        raise Conflict(
            "invalid_transition",
            f"Cannot {action.replace('_', ' ')} a session that is "
            f"{locked.status.replace('_', ' ')}.",
            extra={"status": locked.status},
        )
    locked._status_lock = (action, _transaction_of_caller())  # type: ignore[attr-defined]
    return locked


def session_status_change(
    session: InfusionSession,
    *,
    action: str,
    actor: User | None,
    reason: str = "",
    details: dict[str, Any] | None = None,
    fields: Sequence[str] = (),
) -> InfusionSession:
    """Apply `action` to a session locked for it by `session_lock` in this transaction: its new
    status (and the other `fields` the caller set) saved, the transition kept with who, why and
    the details, and audited. The one place a session's status changes."""
    if getattr(session, "_status_lock", None) != (action, _transaction_of_caller()):
        raise RuntimeError(f"session_status_change({action!r}) without session_lock first")
    before = session.status
    session.status = lifecycle.target(action)
    session.save(update_fields=["status", *fields])
    session_transition_record(
        session, action=action, actor=actor, from_status=before, reason=reason, details=details
    )
    return session


def session_check_opened(session: InfusionSession, action: str, now: datetime) -> None:
    opens = session.starts_at - lifecycle.EARLY_ARRIVAL
    if now < opens:
        raise Conflict(
            "invalid_transition",
            f"Too early to {action.replace('_', ' ')}: it opens 60 minutes before the start.",
            extra={"opens_at": opens.isoformat()},
        )


@transaction.atomic(durable=True)
def session_check_in(
    *,
    actor: User,
    session: InfusionSession,
    fasting_confirmed: bool,
    escort_confirmed: bool,
    weight_kg: Decimal | None = None,
) -> InfusionSession:
    session = session_lock(session, "check_in")
    now = timezone.now()
    session_check_opened(session, "check_in", now)
    session.fasting_confirmed = fasting_confirmed
    session.escort_confirmed = escort_confirmed
    session.weight_kg = weight_kg
    session.checked_in_at = now
    return session_status_change(
        session,
        action="check_in",
        actor=actor,
        details={
            "fasting_confirmed": fasting_confirmed,
            "escort_confirmed": escort_confirmed,
            "weight_kg": str(weight_kg) if weight_kg is not None else None,
        },
        fields=("fasting_confirmed", "escort_confirmed", "weight_kg", "checked_in_at"),
    )


@transaction.atomic(durable=True)
def session_complete(*, actor: User, session: InfusionSession, reason: str = "") -> InfusionSession:
    """The infusion is over; recovery begins. Before its planned minutes it needs a reason, and
    the transition records it as an early end (CLINICAL.md "Session lifecycle")."""
    session = session_lock(session, "complete")
    now = timezone.now()
    planned = timedelta(minutes=session.protocol.infusion_minutes)
    given = now - session.started_at if session.started_at is not None else planned
    early = given < planned
    reason = reason.strip()
    if early and not reason:
        raise Invalid.field(
            "reason",
            f"The infusion ran {int(given.total_seconds() // 60)} of its "
            f"{session.protocol.infusion_minutes} minutes: say why it ends early.",
        )
    session.completed_at = now
    details = {"early_end": early, "minutes_given": int(given.total_seconds() // 60)}
    return session_status_change(
        session,
        action="complete",
        actor=actor,
        reason=reason,
        details=details,
        fields=("completed_at",),
    )


def _cancel(
    session: InfusionSession,
    *,
    actor: User,
    reason: str,
    details: dict[str, Any] | None = None,
) -> InfusionSession:
    session = session_lock(session, "cancel")
    session.revision += 1
    notifications_cancel(session=session.pk)
    return session_status_change(
        session, action="cancel", actor=actor, reason=reason, details=details, fields=("revision",)
    )


@transaction.atomic(durable=True)
def session_cancel(*, actor: User, session: InfusionSession, reason: str) -> InfusionSession:
    return _cancel(session, actor=actor, reason=reason)


@dataclass(frozen=True)
class SeriesCancellation:
    cancelled: list[int]  # the sessions this call cancelled
    already_begun: list[int]  # checked in or later: left as they were


@transaction.atomic(durable=True)
def series_cancel(*, actor: User, series: InfusionSeries, reason: str) -> SeriesCancellation:
    """Cancel every session of the series not yet begun (scheduled), each as `session_cancel`
    would (its reminders cancelled, the reason kept in its transition), all or none. Sessions
    checked in or later are left as they were and reported; cancelled and no-show ones are
    passed over, so a second call cancels nothing.

    Locks all the series' sessions first, in id order (two series cancels, or one and a
    check-in, cannot deadlock), so their statuses read here are the ones changed: a check-in
    racing this either waits and then finds the session cancelled, or wins and is reported."""
    sessions = list(
        InfusionSession.objects.select_for_update(of=("self",), no_key=True)
        .filter(series=series)
        .order_by("pk")
    )
    cancelled: list[int] = []
    already_begun: list[int] = []
    for session in sessions:
        if session.status == SessionStatus.SCHEDULED:
            _cancel(session, actor=actor, reason=reason, details={"series": series.pk})
            cancelled.append(session.pk)
        elif session.status not in RELEASED_STATUSES:
            already_begun.append(session.pk)
    audit_record(
        actor=actor,
        action="series_cancel",
        object_type="series",
        object_id=series.pk,
        patient=series.patient_id,
    )
    return SeriesCancellation(cancelled=cancelled, already_begun=already_begun)


def _mark_no_show(session: InfusionSession, actor: User | None) -> InfusionSession:
    session = session_lock(session, "no_show")
    notifications_cancel(session=session.pk)
    return session_status_change(session, action="no_show", actor=actor)


@transaction.atomic(durable=True)
def session_mark_no_show(*, actor: User, session: InfusionSession) -> InfusionSession:
    if timezone.now() < session.starts_at:
        raise Conflict(
            "invalid_transition",
            "A session that has not started yet cannot be a no-show.",
        )
    return _mark_no_show(session, actor)


def sessions_mark_no_shows() -> int:
    """Beat job: every session still scheduled 30 minutes after its start is a no-show. Each
    in its own transaction, so one bad row cannot hold back the rest; safe to run twice."""
    cutoff = timezone.now() - lifecycle.NO_SHOW_AFTER
    overdue = list(
        InfusionSession.objects.filter(status=SessionStatus.SCHEDULED, starts_at__lte=cutoff)
        .order_by("starts_at")
        .values_list("pk", flat=True)[:500]
    )
    marked = 0
    for session_id in overdue:
        with transaction.atomic():
            session = InfusionSession(pk=session_id)
            try:
                _mark_no_show(session, None)
            except ApplicationError:
                continue  # checked in or cancelled since we looked
            marked += 1
    return marked
