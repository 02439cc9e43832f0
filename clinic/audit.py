"""The audit trail's one writer: every read and write of patient data leaves an event here
(who, role, what, which patient, when, from where). Services call it for writes, selectors for
the reads they answer; the table refuses UPDATE and DELETE."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from clinic.models import AuditAction, AuditEvent, Patient, User
from config.request_context import client_ip


def audit_record(
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object = "",
    patient: Patient | int | None = None,
    at: datetime | None = None,
) -> None:
    """One audit event. Runs inside the caller's transaction, so it lands with the change.
    `at` (default now) stamps it with the time of the change it records, when the stored rows
    carry that time themselves (a reading's received_at)."""
    audit_record_many(
        actor=actor,
        action=action,
        entries=[(object_type, object_id, patient)],
        at=at,
    )


def audit_record_many(
    *,
    actor: User | None,
    action: str,
    entries: Iterable[tuple[str, object, Patient | int | None]],
    at: datetime | None = None,
) -> None:
    """Audit events for many objects in one INSERT (a page of a list is one query)."""
    now = at or timezone.now()
    ip = client_ip.get()
    role = actor.effective_role if actor is not None else "system"
    username = actor.get_username() if actor is not None else ""
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor,
                actor_username=username,
                role=role,
                action=action,
                object_type=object_type,
                object_id=str(object_id),
                patient_id=patient.pk if isinstance(patient, Patient) else patient,
                at=now,
                ip=ip,
            )
            for object_type, object_id, patient in entries
        ]
    )


def audit_creation(
    *,
    actor: User | None,
    object_type: str,
    object_id: object,
    patient: Patient | int | None = None,
) -> None:
    """The creation of a record (action `create`), in the caller's transaction."""
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type=object_type,
        object_id=object_id,
        patient=patient,
    )


def audit_read(
    *, actor: User, object_type: str, object_id: object, patient: Patient | int | None
) -> None:
    """A read of patient data that an interface answered (action `read`)."""
    audit_read_many(actor=actor, entries=[(object_type, object_id, patient)])


def audit_read_many(
    *, actor: User, entries: Iterable[tuple[str, object, Patient | int | None]]
) -> None:
    """Reads of many objects (the rows of a list's page), in one INSERT."""
    audit_record_many(actor=actor, action=AuditAction.READ, entries=entries)
