"""Django admin: clinic set-up, which a clinic admin edits, and the records they look into
(the outbox here; sessions in scheduling/admin.py; readings, alerts and questionnaires in
monitoring/admin.py, on the base classes of this module).

- A clinic admin (is_staff, role admin) sees their clinics' rows; a superuser sees every row.
- Records the services write (the outbox, sessions, readings, alerts, questionnaires) are
  read-only here, for a superuser too: the rules live in the services (a session's status has
  one owner, the outbox's worker claims its rows), and most clinical tables refuse UPDATE and
  DELETE in the database anyway.
- Times are shown in the row's clinic's zone, named; no creation time is editable.
- Reads of patient data leave audit events as the API's do: the rows of a list page shown, and
  a change page.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils.timezone import get_default_timezone_name

from clinic.audit import audit_record, audit_record_many
from clinic.models import (
    AuditAction,
    AuditEvent,
    Chair,
    Clinic,
    ClinicClosure,
    Notification,
    Patient,
    Protocol,
    User,
)
from clinic.selectors import audit_event_list
from clinic.thresholds import ThresholdError, validate_threshold_overrides

CLINIC_FILTER = ("clinic", admin.RelatedOnlyFieldListFilter)  # never lists another clinic's name


def is_clinic_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active and user.is_staff and getattr(user, "effective_role", None) == "admin"
    )


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def viewer_timezone(request: HttpRequest) -> str:
    """The zone for a time whose row names no clinic (a login, a shared protocol, a member of
    staff): the viewer's clinics' zone when they share one, else the server's (UTC)."""
    user = request.user
    if isinstance(user, User) and not user.is_superuser:
        zones = set(user.clinics.values_list("timezone", flat=True))
        if len(zones) == 1:
            return zones.pop()
    return get_default_timezone_name()


def row_timezone(obj: Any) -> str:
    """The zone a row's times are shown in: its clinic's, as the admin's queryset annotates it
    (`clinic_timezone`), else the server's (a row not read through the admin)."""
    return getattr(obj, "clinic_timezone", None) or get_default_timezone_name()


def clinic_local(value: datetime, zone_name: str) -> str:
    return f"{value.astimezone(ZoneInfo(zone_name)):%Y-%m-%d %H:%M:%S} {zone_name}"


def clinic_time(field: str, description: str) -> Callable[[Any, Any], str]:
    """A column or read-only field showing the datetime `field` in the row's clinic's zone,
    named (row_timezone), sortable by `field`: in place of the raw field, which Django would
    show in UTC."""

    @admin.display(description=description, ordering=field)
    def local(model_admin: Any, obj: Any) -> str:
        value = getattr(obj, field)
        if value is None or obj._state.adding:
            return model_admin.get_empty_value_display()
        return clinic_local(value, row_timezone(obj))

    local.__name__ = f"{field}_local"
    return local


class ViewOnly:
    """A mixin, first among the bases: no adding, changing or deleting from the admin (the
    services write these rows)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RoleAdmin(admin.ModelAdmin):
    """Clinic admins (role admin, is_staff) manage set-up without per-model permissions."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_clinic_admin(request) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_clinic_admin(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_clinic_admin(request) or super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_clinic_admin(request) or super().has_change_permission(request, obj)


class AuditedAdmin(RoleAdmin):
    """Admin changes leave the same audit events as the API's; a new row records its creator."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and getattr(obj, "created_by_id", False) is None:
            obj.created_by = _actor(request)
        super().save_model(request, obj, form, change)
        audit_record(
            actor=_actor(request),
            action=AuditAction.UPDATE if change else AuditAction.CREATE,
            object_type=obj._meta.model_name,
            object_id=obj.pk,
            patient=obj if isinstance(obj, Patient) else None,
        )


class ClinicScopedAdmin(AuditedAdmin):
    """Limits rows and clinic choices to the admin's clinics (a superuser sees all), gives each
    row its clinic's zone (`clinic_timezone`, for `clinic_time`), and audits reads of patient
    data when `audit_object_type` is set."""

    clinic_path = "clinic"  # the lookup from a row to its clinic ("pk": the row is one)
    audit_object_type: str | None = None  # set: the rows are patient data
    patient_id_path = "patient_id"  # the attributes from a row to its patient's id

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "clinic" and not request.user.is_superuser:
            kwargs["queryset"] = request.user.clinics.all()  # type: ignore[union-attr]
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def scope(self, queryset: QuerySet[Any], clinics: QuerySet[Clinic]) -> QuerySet[Any]:
        return queryset.filter(**{f"{self.clinic_path}__in": clinics})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = self.scope(queryset, request.user.clinics.all())  # type: ignore[union-attr]
        zone = "timezone" if self.clinic_path == "pk" else f"{self.clinic_path}__timezone"
        return queryset.annotate(clinic_timezone=Coalesce(F(zone), Value(viewer_timezone(request))))

    def audit_reads(self, request: HttpRequest, rows: Iterable[Any]) -> None:
        if self.audit_object_type is None:
            return
        entries = []
        for row in rows:
            patient_id = row
            for name in self.patient_id_path.split("."):
                patient_id = getattr(patient_id, name)
            entries.append((self.audit_object_type, row.pk, patient_id))
        if entries:
            audit_record_many(actor=_actor(request), action=AuditAction.READ, entries=entries)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            # The page's rows, fetched once: the template reads the same evaluated queryset.
            self.audit_reads(request, changelist.result_list)
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        shown = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and shown is not None:
            self.audit_reads(request, [shown])
        return response


class ReadOnlyRecordAdmin(ViewOnly, ClinicScopedAdmin):
    """Rows the services write: viewed here, never added, changed or deleted. The change page
    shows `readonly_fields`, in order (datetimes through `clinic_time`)."""

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return list(self.get_readonly_fields(request, obj))


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_path = "pk"
    list_display = ["name", "timezone", "opening_time", "closing_time"]
    search_fields = ["name"]
    exclude = ["created_at"]
    readonly_fields = ["created_at_local"]
    created_at_local = clinic_time("created_at", "created")


@admin.register(ClinicClosure)
class ClinicClosureAdmin(ReadOnlyRecordAdmin):
    """Read-only: a closure is made through its service, which lists the sessions it hits."""

    list_display = ["date", "clinic", "opens_at", "closes_at", "reason"]
    list_filter = [CLINIC_FILTER]
    list_select_related = ["clinic"]
    ordering = ["-date"]
    readonly_fields = [
        "clinic",
        "date",
        "opens_at",
        "closes_at",
        "reason",
        "created_by",
        "created_at_local",
    ]
    created_at_local = clinic_time("created_at", "created")


@admin.register(Chair)
class ChairAdmin(ClinicScopedAdmin):
    list_display = ["name", "clinic", "is_active"]
    list_filter = [CLINIC_FILTER, "is_active"]
    list_select_related = ["clinic"]


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    audit_object_type = "patient"
    patient_id_path = "pk"
    list_display = ["last_name", "first_name", "clinic", "preferred_channel", "created_at_local"]
    list_filter = [CLINIC_FILTER, "preferred_channel"]
    list_select_related = ["clinic"]
    search_fields = ["last_name", "first_name", "email"]
    exclude = ["created_at", "contraindications_reviewed_at"]
    readonly_fields = [
        "created_at_local",
        "created_by",
        "contraindications_reviewed_at_local",
        "contraindications_reviewed_by",
    ]
    raw_id_fields = ["user"]
    created_at_local = clinic_time("created_at", "created")
    contraindications_reviewed_at_local = clinic_time(
        "contraindications_reviewed_at", "contraindications reviewed"
    )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # clinical records are never deleted

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.contraindications_reviewed_at is not None:
            fields.append("contraindications")  # reviewed flags are part of the record
        return fields


@admin.register(Protocol)
class ProtocolAdmin(ClinicScopedAdmin):
    list_display = ["name", "clinic", "route", "dose_mg_per_kg", "infusion_minutes", "is_active"]
    list_filter = ["route", "is_active"]
    list_select_related = ["clinic"]
    exclude = ["created_at"]
    readonly_fields = ["created_at_local", "created_by"]
    created_at_local = clinic_time("created_at", "created")

    def scope(self, queryset: QuerySet[Any], clinics: QuerySet[Clinic]) -> QuerySet[Any]:
        return queryset.filter(Q(clinic__in=clinics) | Q(clinic__isnull=True))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.clinic_id is None and not request.user.is_superuser:
            return False  # a protocol shared by every clinic is a superuser's to change
        return super().has_change_permission(request, obj)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)

        def clean_thresholds(self: Any) -> Any:
            thresholds = self.cleaned_data.get("thresholds") or {}
            try:
                return validate_threshold_overrides(thresholds)
            except ThresholdError as exc:
                raise ValidationError(
                    [f"{path}: {'; '.join(msgs)}" for path, msgs in exc.errors.items()]
                ) from exc

        form.clean_thresholds = clean_thresholds  # type: ignore[attr-defined]
        return form


@admin.register(User)
class StaffAdmin(AuditedAdmin, UserAdmin):
    """Staff may work in several clinics: their times are shown in the viewer's clinics' zone."""

    list_display = ["username", "role", "first_name", "last_name", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login_local", "date_joined_local")}),
        ("Clinic", {"fields": ("role", "phone", "clinics")}),
    )
    readonly_fields = ["last_login_local", "date_joined_local"]
    last_login_local = clinic_time("last_login", "last login")
    date_joined_local = clinic_time("date_joined", "date joined")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            members = User.objects.filter(clinics__in=request.user.clinics.all()).values("pk")  # type: ignore[union-attr]
            queryset = queryset.filter(pk__in=members, is_superuser=False)
        return queryset.annotate(clinic_timezone=Value(viewer_timezone(request)))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        # Only a superuser may grant superuser status, admin-site access or raw permissions.
        return (*self.readonly_fields, "is_superuser", "is_staff", "user_permissions", "groups")

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "clinics" and not request.user.is_superuser:
            kwargs["queryset"] = request.user.clinics.all()  # type: ignore[union-attr]
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not request.user.is_superuser:
            theirs = set(request.user.clinics.values_list("pk", flat=True))  # type: ignore[union-attr]
            if not set(obj.clinics.values_list("pk", flat=True)) <= theirs:
                return False  # staff who also work elsewhere are that clinic's business too
        return super().has_change_permission(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnly, RoleAdmin):
    """An event about a patient is shown in the patient's clinic's zone, others (logins) in
    the viewer's."""

    list_display = [
        "at_local",
        "actor_username",
        "role",
        "action",
        "object_type",
        "object_id",
        "patient",
        "ip",
    ]
    list_filter = ["action", "object_type"]
    list_select_related = ["patient"]
    exclude = ["at"]
    readonly_fields = ["at_local"]
    at_local = clinic_time("at", "at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        if not isinstance(request.user, User):
            return AuditEvent.objects.none()
        return audit_event_list(user=request.user).annotate(
            clinic_timezone=Coalesce(
                F("patient__clinic__timezone"), Value(viewer_timezone(request))
            )
        )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyRecordAdmin):
    """The outbox, as the API shows it: not the body, which carries survey links' tokens."""

    audit_object_type = "notification"
    list_display = [
        "id",
        "kind",
        "channel",
        "recipient",
        "status",
        "scheduled_for_local",
        "sent_at_local",
        "patient",
        "attempts",
    ]
    list_filter = ["status", "kind", "channel", CLINIC_FILTER]
    list_select_related = ["patient"]
    ordering = ["-scheduled_for"]
    readonly_fields = [
        "clinic",
        "patient",
        "recipient_user",
        "kind",
        "channel",
        "recipient",
        "urgent",
        "status",
        "scheduled_for_local",
        "attempts",
        "last_error",
        "provider_message_id",
        "sent_at_local",
        "cancelled_at_local",
        "session",
        "survey",
        "created_at_local",
    ]
    scheduled_for_local = clinic_time("scheduled_for", "scheduled for")
    sent_at_local = clinic_time("sent_at", "sent")
    cancelled_at_local = clinic_time("cancelled_at", "cancelled")
    created_at_local = clinic_time("created_at", "created")
