"""Every write in the clinic app. Entry points own their transaction (durable) and audit."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from clinic.audit import audit_record
from clinic.models import (
    INTRANASAL_OBSERVATION_MINUTES,
    IV_INFUSION_MINUTES,
    AuditAction,
    AuthToken,
    Chair,
    Channel,
    Clinic,
    LoginFailure,
    Notification,
    NotificationStatus,
    Patient,
    Protocol,
    Role,
    Route,
    User,
)
from clinic.quiet_hours import quiet_hours_end
from clinic.thresholds import ThresholdError, validate_threshold_overrides
from config.errors import ApplicationError, Forbidden, Invalid, NotFound, Throttled, Unauthenticated
from config.request_context import client_ip

# --- Authentication ----------------------------------------------------------------------------


def _hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    user: User


def _recent_failures() -> Any:
    return LoginFailure.objects.filter(at__gte=timezone.now() - settings.LOGIN_FAILURE_WINDOW)


def login_locked_out(*, username: str) -> bool:
    """True while `username` has too many recent failed logins: every attempt is refused,
    the right password too, so a guesser learns nothing."""
    failures = _recent_failures().filter(username__iexact=username).count()
    return failures >= settings.LOGIN_MAX_FAILURES_PER_USERNAME


def address_throttled(*, ip: str | None) -> bool:
    """True while `ip` has too many recent failed logins. Only failures are refused then
    (429 instead of 401): a clinic behind one address keeps logging in (API.md)."""
    if ip is None:
        return False
    return _recent_failures().filter(ip=ip).count() >= settings.LOGIN_MAX_FAILURES_PER_ADDRESS


@transaction.atomic(durable=True)
def login_failure_record(*, username: str) -> None:
    """Count a failed login (API or admin) for lockout, and audit it."""
    LoginFailure.objects.create(username=username[:150], ip=client_ip.get())
    known = User.objects.filter(username=username).first()
    audit_record(
        actor=known,
        action=AuditAction.LOGIN_FAILED,
        object_type="user",
        object_id=known.pk if known else "",
    )


def _too_many_failures() -> ApplicationError:
    return Throttled(
        "too_many_failed_logins",
        "Too many failed logins. Try again later.",
        extra={"retry_after_seconds": int(settings.LOGIN_FAILURE_WINDOW.total_seconds())},
    )


def auth_login(*, username: str, password: str) -> LoginResult:
    """Check credentials and issue a token. Failed attempts are counted per username and per
    address (login_failure_record, through Django's user_login_failed signal so that admin
    logins count too). A locked username refuses everything until the window has passed; a
    throttled address refuses failures only."""
    if login_locked_out(username=username):
        raise _too_many_failures()
    throttled = address_throttled(ip=client_ip.get())  # before this attempt counts
    user = authenticate(username=username, password=password)
    if not isinstance(user, User):
        if throttled:
            raise _too_many_failures()
        raise Unauthenticated(
            "invalid_credentials",
            "The username or password is wrong.",
        )
    now = timezone.now()
    raw = secrets.token_urlsafe(32)
    expires_at = now + settings.AUTH_TOKEN_LIFETIME
    with transaction.atomic(durable=True):
        AuthToken.objects.create(
            user=user,
            key_hash=_hash_token(raw),
            created_at=now,
            last_used_at=now,
            expires_at=expires_at,
        )
        User.objects.filter(pk=user.pk).update(last_login=now)
        audit_record(actor=user, action=AuditAction.LOGIN, object_type="user", object_id=user.pk)
    return LoginResult(token=raw, expires_at=expires_at, user=user)


# Refresh last_used_at at most this often: a write on every request would cost more than the
# idle timeout's precision is worth.
_TOKEN_TOUCH_INTERVAL_SECONDS = 60


def auth_token_resolve(*, raw_token: str) -> AuthToken | None:
    """The live token for a raw bearer value, or None if unknown, revoked, idle or expired."""
    now = timezone.now()
    token = (
        AuthToken.objects.select_related("user")
        .filter(key_hash=_hash_token(raw_token), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at + settings.AUTH_TOKEN_IDLE_TIMEOUT <= now:
        return None
    if (now - token.last_used_at).total_seconds() >= _TOKEN_TOUCH_INTERVAL_SECONDS:
        AuthToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic(durable=True)
def auth_logout(*, token: AuthToken) -> None:
    AuthToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_record(
        actor=token.user, action=AuditAction.LOGOUT, object_type="user", object_id=token.user_id
    )


def auth_tokens_purge_expired() -> int:
    """Delete tokens and login failures nobody can use any more. Neither is clinical data;
    logins and logouts stay in the audit trail."""
    now = timezone.now()
    idle_cutoff = now - settings.AUTH_TOKEN_IDLE_TIMEOUT
    deleted, _ = AuthToken.objects.filter(
        Q(expires_at__lte=now) | Q(revoked_at__isnull=False) | Q(last_used_at__lte=idle_cutoff)
    ).delete()
    LoginFailure.objects.filter(at__lt=now - settings.LOGIN_FAILURE_WINDOW).delete()
    return deleted


# --- Clinic set-up -----------------------------------------------------------------------------


def _require_clinic_access(*, actor: User, clinic: Clinic) -> None:
    if not actor.is_superuser and not actor.clinics.filter(pk=clinic.pk).exists():
        raise NotFound()


@transaction.atomic(durable=True)
def clinic_create(
    *,
    actor: User,
    name: str,
    timezone_name: str,
    opening_time: time,
    closing_time: time,
    open_weekdays: Sequence[int],
    nurse_concurrent_patient_limit: int = 2,
) -> Clinic:
    clinic = Clinic(
        name=name,
        timezone=timezone_name,
        opening_time=opening_time,
        closing_time=closing_time,
        open_weekdays=sorted(set(open_weekdays)),
        nurse_concurrent_patient_limit=nurse_concurrent_patient_limit,
    )
    if clinic.opening_time >= clinic.closing_time:
        raise Invalid(fields={"closing_time": ["Must be after the opening time."]})
    clinic.full_clean()
    clinic.save()
    if not actor.is_superuser:
        actor.clinics.add(clinic)  # the admin who opens a clinic runs it
    audit_record(actor=actor, action=AuditAction.CREATE, object_type="clinic", object_id=clinic.pk)
    return clinic


@transaction.atomic(durable=True)
def chair_create(*, actor: User, clinic: Clinic, name: str) -> Chair:
    _require_clinic_access(actor=actor, clinic=clinic)
    if Chair.objects.filter(clinic=clinic, name=name).exists():
        raise Invalid(fields={"name": ["This clinic already has a chair with this name."]})
    chair = Chair.objects.create(clinic=clinic, name=name)
    audit_record(actor=actor, action=AuditAction.CREATE, object_type="chair", object_id=chair.pk)
    return chair


@transaction.atomic(durable=True)
def staff_create(
    *,
    actor: User,
    username: str,
    password: str,
    role: str,
    clinics: Sequence[Clinic],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    phone: str = "",
) -> User:
    if role == Role.PATIENT:
        raise Invalid(fields={"role": ["Patients are not staff."]})
    if not clinics:
        raise Invalid(fields={"clinics": ["Staff belong to at least one clinic."]})
    for clinic in clinics:
        _require_clinic_access(actor=actor, clinic=clinic)
    if User.objects.filter(username__iexact=username).exists():
        raise Invalid(fields={"username": ["This username is taken."]})
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        is_staff=role == Role.ADMIN,  # clinic admins may use the Django admin
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(fields={"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    user.clinics.set(clinics)
    audit_record(actor=actor, action=AuditAction.CREATE, object_type="user", object_id=user.pk)
    return user


@transaction.atomic(durable=True)
def patient_create(
    *,
    actor: User,
    clinic: Clinic,
    first_name: str,
    last_name: str,
    date_of_birth: Any,
    weight_kg: Decimal,
    email: str = "",
    phone: str = "",
    preferred_channel: str = Channel.SMS,
    sms_opt_in: bool = True,
    email_opt_in: bool = True,
    contraindications: Sequence[str] = (),
) -> Patient:
    _require_clinic_access(actor=actor, clinic=clinic)
    if date_of_birth > timezone.localdate():
        raise Invalid(fields={"date_of_birth": ["Must not be in the future."]})
    if preferred_channel == Channel.SMS and not phone:
        raise Invalid(fields={"phone": ["Required when the preferred channel is SMS."]})
    if preferred_channel == Channel.EMAIL and not email:
        raise Invalid(fields={"email": ["Required when the preferred channel is e-mail."]})
    patient = Patient(
        clinic=clinic,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        weight_kg=weight_kg,
        email=email,
        phone=phone,
        preferred_channel=preferred_channel,
        sms_opt_in=sms_opt_in,
        email_opt_in=email_opt_in,
        contraindications=sorted(set(contraindications)),
        created_by=actor,
    )
    patient.full_clean()
    patient.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="patient",
        object_id=patient.pk,
        patient=patient,
    )
    return patient


@transaction.atomic(durable=True)
def protocol_create(
    *,
    actor: User,
    clinic: Clinic | None,
    name: str,
    route: str,
    dose_mg_per_kg: Decimal,
    infusion_minutes: int,
    prep_minutes: int,
    recovery_minutes: int,
    vitals_interval_minutes: int,
    thresholds: dict[str, Any],
) -> Protocol:
    if clinic is None:
        clinics = list(actor.clinics.all())
        if actor.is_superuser:
            clinic = None  # a superuser's protocol without a clinic is offered to every clinic
        elif len(clinics) == 1:
            clinic = clinics[0]
        else:
            raise Invalid(fields={"clinic": ["Say which of your clinics this protocol is for."]})
    if clinic is not None:
        _require_clinic_access(actor=actor, clinic=clinic)
    if route == Route.INTRANASAL and recovery_minutes < INTRANASAL_OBSERVATION_MINUTES:
        raise Invalid(
            fields={
                "recovery_minutes": [
                    "Esketamine needs at least 2 hours of observation after every dose "
                    "(Spravato label)."
                ]
            }
        )
    low, high = IV_INFUSION_MINUTES
    if route == Route.IV and not low <= infusion_minutes <= high:
        raise Invalid(
            fields={
                "infusion_minutes": [f"An IV infusion runs {low} to {high} minutes (CLINICAL.md)."]
            }
        )
    try:
        validate_threshold_overrides(thresholds)
    except ThresholdError as exc:
        raise Invalid(
            fields={
                "thresholds": [f"{path}: {'; '.join(msgs)}" for path, msgs in exc.errors.items()]
            }
        ) from exc
    if Protocol.objects.filter(clinic=clinic, name=name).exists():
        raise Invalid(fields={"name": ["A protocol with this name exists."]})
    protocol = Protocol(
        clinic=clinic,
        name=name,
        route=route,
        dose_mg_per_kg=dose_mg_per_kg,
        infusion_minutes=infusion_minutes,
        prep_minutes=prep_minutes,
        recovery_minutes=recovery_minutes,
        vitals_interval_minutes=vitals_interval_minutes,
        thresholds=thresholds,
        created_by=actor,
    )
    protocol.full_clean()
    protocol.save()
    audit_record(
        actor=actor, action=AuditAction.CREATE, object_type="protocol", object_id=protocol.pk
    )
    return protocol


# --- Contraindication review ----------------------------------------------------------------


@transaction.atomic(durable=True)
def patient_contraindications_review(*, actor: User, patient: Patient) -> Patient:
    """A clinician has reviewed the intake flags; booking is allowed from now on."""
    if actor.effective_role != Role.CLINICIAN:
        raise Forbidden(
            "permission_denied",
            "Only a clinician may review contraindications.",
        )
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.contraindications_reviewed_at is None:
        patient.contraindications_reviewed_at = timezone.now()
        patient.contraindications_reviewed_by = actor
        patient.save(
            update_fields=["contraindications_reviewed_at", "contraindications_reviewed_by"]
        )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="patient_contraindications",
        object_id=patient.pk,
        patient=patient,
    )
    return patient


# --- Notifications outbox ---------------------------------------------------------------------

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
            ours.update(
                scheduled_for=held_until,
                claimed_until=None,
                claim_token=None,
                attempts=F("attempts") - 1,  # holding is not an attempt
            )
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
            ours.update(
                scheduled_for=now + timedelta(seconds=delay),
                claimed_until=None,
                claim_token=None,
                last_error=str(error),
            )
            return "retry"
        ours.update(
            status=NotificationStatus.FAILED,
            claimed_until=None,
            claim_token=None,
            last_error=str(error),
        )
        return "failed"
    ours.update(
        status=NotificationStatus.SENT,
        sent_at=timezone.now(),
        provider_message_id=provider_message_id,
        claimed_until=None,
        claim_token=None,
        last_error="",
    )
    return "sent"
