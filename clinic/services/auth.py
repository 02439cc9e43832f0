"""Logging in and out: password checks with lockout and throttling, bearer tokens, and the
sweep of tokens nobody can use any more."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic.audit import audit_record
from clinic.models import AuditAction, AuthToken, LoginFailure, User
from config.errors import ApplicationError, Throttled, Unauthenticated
from config.request_context import client_ip


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
