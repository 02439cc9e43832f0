"""The notifications outbox: messages are scheduled in the caller's transaction and delivered
by workers that claim one row at a time, at most once however many try."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from clinic.models import Channel, Clinic, Notification, NotificationStatus, Patient, User
from clinic.quiet_hours import quiet_hours_end

# A claimed message not marked sent or failed by then (its worker died) may be claimed again:
# settings.NOTIFICATION_CLAIM_SECONDS, longer than a task may run (a system check holds it).
NOTIFICATION_MAX_ATTEMPTS = 5
# Retry after 30 s, 1 min, 2 min, 4 min... capped at an hour.
NOTIFICATION_BACKOFF_SECONDS = 30
NOTIFICATION_BACKOFF_MAX_SECONDS = 3600


def patient_contact(*, patient: Patient) -> tuple[str, str] | None:
    """The (channel, address) to reach a patient: their preferred channel if they opted in to it
    and we have the address, else the other one on the same terms, else None."""
    options = {
        Channel.SMS: (patient.sms_opt_in, patient.phone),
        Channel.EMAIL: (patient.email_opt_in, patient.email),
    }
    preferred = Channel(patient.preferred_channel)
    other = Channel.EMAIL if preferred == Channel.SMS else Channel.SMS
    for channel in (preferred, other):
        opted_in, address = options[channel]
        if opted_in and address:
            return channel.value, address
    return None


def notification_schedule(
    *,
    clinic: Clinic,
    kind: str,
    channel: str,
    recipient: str,
    body: str,
    scheduled_for: datetime,
    dedup_key: str,
    patient: Patient | None = None,
    recipient_user: User | None = None,
    subject: str = "",
    calendar_ics: str = "",
    urgent: bool = False,
    session: int | None = None,
    survey: int | None = None,
) -> Notification:
    """Put a message in the outbox, in the caller's transaction. The same dedup key twice is
    the same message: the second call returns the first row."""
    notification, _ = Notification.objects.get_or_create(
        dedup_key=dedup_key,
        defaults={
            "clinic": clinic,
            "kind": kind,
            "channel": channel,
            "recipient": recipient,
            "body": body,
            "scheduled_for": scheduled_for,
            "patient": patient,
            "recipient_user": recipient_user,
            "subject": subject,
            "calendar_ics": calendar_ics,
            "urgent": urgent,
            "session": session,
            "survey": survey,
        },
    )
    return notification


def notifications_cancel(
    *, session: int | None = None, survey: int | None = None, kind: str | None = None
) -> int:
    """Cancel the pending messages about a session or survey (in the caller's transaction)."""
    pending = Notification.objects.filter(status=NotificationStatus.PENDING)
    if session is not None:
        pending = pending.filter(session=session)
    if survey is not None:
        pending = pending.filter(survey=survey)
    if kind is not None:
        pending = pending.filter(kind=kind)
    return pending.update(status=NotificationStatus.CANCELLED, cancelled_at=timezone.now())


def _claimable(now: datetime) -> Q:
    return (
        Q(status=NotificationStatus.PENDING, scheduled_for__lte=now)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        & Q(attempts__lt=NOTIFICATION_MAX_ATTEMPTS)
    )


def notification_due_ids(*, limit: int = 500) -> list[int]:
    return list(
        Notification.objects.filter(_claimable(timezone.now()))
        .order_by("scheduled_for")
        .values_list("pk", flat=True)[:limit]
    )


def notifications_fail_abandoned() -> int:
    """Messages whose last allowed attempt died with its worker end `failed`, visibly, instead
    of waiting for ever."""
    now = timezone.now()
    return Notification.objects.filter(
        status=NotificationStatus.PENDING,
        attempts__gte=NOTIFICATION_MAX_ATTEMPTS,
        claimed_until__lt=now,
    ).update(
        status=NotificationStatus.FAILED,
        claimed_until=None,
        claim_token=None,
        last_error=f"Gave up after {NOTIFICATION_MAX_ATTEMPTS} attempts (the worker was lost).",
    )


def _send(notification: Notification) -> str:
    from clinic.messaging import get_sms_backend, send_email

    if notification.channel == Channel.SMS:
        return get_sms_backend().send(
            to=notification.recipient, body=notification.body, reference=notification.dedup_key
        )
    send_email(
        to=notification.recipient,
        subject=notification.subject or "A message from your clinic",
        body=notification.body,
        calendar_ics=notification.calendar_ics.encode() if notification.calendar_ics else None,
        reference=notification.dedup_key,
    )
    return ""


def _release(ours: QuerySet[Notification], **outcome: Any) -> None:
    """Record what came of a claimed delivery and give the claim back, in one UPDATE."""
    ours.update(claimed_until=None, claim_token=None, **outcome)


def notification_deliver(*, notification_id: int) -> str:
    """Deliver one due message, at most once however many workers try.

    The worker claims the row with a conditional UPDATE (one row changed = ours), sends outside
    any transaction, then records the outcome only if it still holds the claim. A worker that
    dies after claiming leaves a claim that expires, and the sweep hands the message on."""
    from clinic.messaging import DeliveryError

    token = uuid.uuid4()
    now = timezone.now()
    claimed = Notification.objects.filter(_claimable(now), pk=notification_id).update(
        claim_token=token,
        claimed_until=now + timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS),
        attempts=F("attempts") + 1,
    )
    if claimed != 1:
        return "not_claimed"
    ours = Notification.objects.filter(pk=notification_id, claim_token=token)
    notification = Notification.objects.select_related("clinic").get(pk=notification_id)

    if not notification.urgent:
        clinic = notification.clinic
        held_until = quiet_hours_end(
            now, clinic.zone, clinic.quiet_hours_start, clinic.quiet_hours_end
        )
        if held_until is not None:
            # Holding is not an attempt: give back the one the claim counted.
            _release(ours, scheduled_for=held_until, attempts=F("attempts") - 1)
            return "held"

    try:
        provider_message_id = _send(notification)
    except Exception as exc:
        # Anything but a DeliveryError is our fault or the environment's (a misconfigured
        # backend, a timeout): retry it like a transient failure, naming only its type, since
        # exception texts may carry the address.
        error = (
            exc
            if isinstance(exc, DeliveryError)
            else DeliveryError(f"{type(exc).__name__} while sending", retryable=True)
        )
        if error.retryable and notification.attempts < NOTIFICATION_MAX_ATTEMPTS:
            delay = min(
                NOTIFICATION_BACKOFF_SECONDS * 2 ** (notification.attempts - 1),
                NOTIFICATION_BACKOFF_MAX_SECONDS,
            )
            _release(ours, scheduled_for=now + timedelta(seconds=delay), last_error=str(error))
            return "retry"
        _release(ours, status=NotificationStatus.FAILED, last_error=str(error))
        return "failed"
    _release(
        ours,
        status=NotificationStatus.SENT,
        sent_at=timezone.now(),
        provider_message_id=provider_message_id,
        last_error="",
    )
    return "sent"
