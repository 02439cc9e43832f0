"""Every read in the clinic app, scoped to the requesting user by construction.

Staff see the clinics they belong to (a superuser sees all); a patient sees only themself.
Anything outside that scope does not exist for the caller (404).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from clinic.audit import audit_read, audit_read_many
from clinic.filters import (
    AuditEventFilter,
    ChairFilter,
    NotificationFilter,
    PatientFilter,
    filtered,
)
from clinic.models import (
    AuditEvent,
    Chair,
    Clinic,
    ClinicClosure,
    Notification,
    Patient,
    Protocol,
    Role,
    User,
)
from config.errors import get_or_not_found

M = TypeVar("M", bound=Model)

# How an interface pages a list: takes the queryset, returns the rows of the page it shows. A
# selector that audits a list's read is handed one, so that it records exactly those rows.
PageCut = Callable[[QuerySet[M]], list[M]]


def clinic_ids_visible(*, user: User) -> QuerySet[Clinic] | None:
    """The caller's clinics as a subquery, or None for "every clinic" (a superuser)."""
    if user.is_superuser:
        return None
    return user.clinics.all()


def clinic_list(*, user: User) -> QuerySet[Clinic]:
    clinics = clinic_ids_visible(user=user)
    if clinics is None:
        return Clinic.objects.all()
    return Clinic.objects.filter(pk__in=clinics.values("pk"))


def clinic_get(*, user: User, clinic_id: object) -> Clinic:
    return get_or_not_found(clinic_list(user=user), pk=clinic_id)


def clinic_closure_list(*, user: User, clinic_id: object) -> QuerySet[ClinicClosure]:
    """The closures of one of the caller's clinics (another clinic is NotFound)."""
    return ClinicClosure.objects.filter(clinic=clinic_get(user=user, clinic_id=clinic_id))


def clinic_closure_get(
    *, user: User, closure_id: object, clinic_id: int | None = None
) -> ClinicClosure:
    """A closure of one of the caller's clinics (of `clinic_id`, when the URL names it)."""
    closures = ClinicClosure.objects.filter(clinic__in=clinic_list(user=user))
    if clinic_id is not None:
        closures = closures.filter(clinic_id=clinic_id)
    return get_or_not_found(closures.select_related("clinic"), pk=closure_id)


def chair_list(*, user: User, filters: Mapping[str, Any] | None = None) -> QuerySet[Chair]:
    chairs = Chair.objects.filter(clinic__in=clinic_list(user=user)).select_related("clinic")
    return filtered(ChairFilter, chairs, filters)


def staff_list(*, user: User) -> QuerySet[User]:
    staff = User.objects.exclude(role=Role.PATIENT).prefetch_related("clinics")
    if user.is_superuser:
        return staff
    members = User.objects.filter(clinics__in=clinic_list(user=user)).values("pk")
    return staff.filter(pk__in=members)


def nurse_list(*, user: User) -> QuerySet[User]:
    return staff_list(user=user).filter(role=Role.NURSE)


def in_caller_scope(
    rows: QuerySet[M], *, user: User, patient_login: str = "patient__user"
) -> QuerySet[M]:
    """The rows of patient data the caller may see: a patient sees their own (`patient_login`
    leads from a row to its patient's login), staff the rows of their clinics."""
    if user.effective_role == Role.PATIENT:
        return rows.filter(**{patient_login: user})
    return rows.filter(clinic__in=clinic_list(user=user))


def patient_list(*, user: User, filters: Mapping[str, Any] | None = None) -> QuerySet[Patient]:
    patients = in_caller_scope(Patient.objects.all(), user=user, patient_login="user")
    return filtered(PatientFilter, patients, filters)


def patient_get(*, user: User, patient_id: object) -> Patient:
    """The patient in the caller's scope, unaudited: for writes and lookups, and for the
    permission class, which looks a URL's patient up before refusing a role (a refusal leaves
    no trace). Reading the patient's record is patient_read."""
    return get_or_not_found(patient_list(user=user), pk=patient_id)


def patient_read(*, user: User, patient_id: object) -> Patient:
    """The patient in the caller's scope; the read is audited."""
    patient = patient_get(user=user, patient_id=patient_id)
    audit_read(actor=user, object_type="patient", object_id=patient.pk, patient=patient)
    return patient


def patient_page_read(
    *, user: User, filters: Mapping[str, Any] | None, cut: PageCut[Patient]
) -> list[Patient]:
    """The page `cut` takes of the caller's patients, filtered; each read is audited."""
    patients = cut(patient_list(user=user, filters=filters))
    audit_read_many(
        actor=user, entries=[("patient", patient.pk, patient.pk) for patient in patients]
    )
    return patients


def protocol_list(*, user: User) -> QuerySet[Protocol]:
    return Protocol.objects.filter(Q(clinic__isnull=True) | Q(clinic__in=clinic_list(user=user)))


def protocol_get(*, user: User, protocol_id: object) -> Protocol:
    return get_or_not_found(protocol_list(user=user), pk=protocol_id)


def audit_event_list(
    *, user: User, filters: Mapping[str, Any] | None = None
) -> QuerySet[AuditEvent]:
    """Audit events about the caller's clinics: their patients, and their staff's actions."""
    if user.is_superuser:
        events = AuditEvent.objects.all()
    else:
        clinics = clinic_list(user=user)
        members = User.objects.filter(clinics__in=clinics).values("pk")
        events = AuditEvent.objects.filter(
            Q(patient__clinic__in=clinics) | Q(patient__isnull=True, actor__in=members)
        )
    return filtered(AuditEventFilter, events, filters)


def notification_list(
    *, user: User, filters: Mapping[str, Any] | None = None
) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(clinic__in=clinic_list(user=user))
    return filtered(NotificationFilter, notifications, filters)


def notification_page_read(
    *, user: User, filters: Mapping[str, Any] | None, cut: PageCut[Notification]
) -> list[Notification]:
    """The page `cut` takes of the caller's notifications, filtered. Recipients are patients'
    phone numbers and addresses: each read is audited."""
    notifications = cut(notification_list(user=user, filters=filters))
    audit_read_many(
        actor=user, entries=[("notification", n.pk, n.patient_id) for n in notifications]
    )
    return notifications
