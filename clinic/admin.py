"""Django admin for clinic set-up. A clinic admin (is_staff, role admin) sees their clinics."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from clinic.models import AuditAction, AuditEvent, Chair, Clinic, Patient, Protocol, User
from clinic.selectors import audit_event_list
from clinic.services import audit_record
from clinic.thresholds import ThresholdError, validate_threshold_overrides


def _is_clinic_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active and user.is_staff and getattr(user, "effective_role", None) == "admin"
    )


class RoleAdmin(admin.ModelAdmin):
    """Clinic admins (role admin, is_staff) manage set-up without per-model permissions."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_clinic_admin(request) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_clinic_admin(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_clinic_admin(request) or super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_clinic_admin(request) or super().has_change_permission(request, obj)


class AuditedAdmin(RoleAdmin):
    """Admin changes leave the same audit events as the API's."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user if isinstance(request.user, User) else None,
            action=AuditAction.UPDATE if change else AuditAction.CREATE,
            object_type=obj._meta.model_name,
            object_id=obj.pk,
            patient=obj if isinstance(obj, Patient) else None,
        )


class ClinicScopedAdmin(AuditedAdmin):
    """Limits rows and clinic choices to the admin's clinics (a superuser sees all)."""

    clinic_path = "clinic"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "clinic" and not request.user.is_superuser:
            kwargs["queryset"] = request.user.clinics.all()  # type: ignore[union-attr]
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user = request.user
        if user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.clinic_path}__in": user.clinics.all()})  # type: ignore[union-attr]


@admin.register(Clinic)
class ClinicAdmin(ClinicScopedAdmin):
    clinic_path = "pk"
    list_display = ["name", "timezone", "opening_time", "closing_time"]
    search_fields = ["name"]


@admin.register(Chair)
class ChairAdmin(ClinicScopedAdmin):
    list_display = ["name", "clinic", "is_active"]
    list_filter = ["clinic", "is_active"]


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    list_display = ["last_name", "first_name", "clinic", "preferred_channel", "created_at"]
    list_filter = ["clinic", "preferred_channel"]
    search_fields = ["last_name", "first_name", "email"]
    readonly_fields = [
        "created_at",
        "created_by",
        "contraindications_reviewed_at",
        "contraindications_reviewed_by",
    ]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # clinical records are never deleted

    raw_id_fields = ["user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.contraindications_reviewed_at is not None:
            fields.append("contraindications")  # reviewed flags are part of the record
        return fields

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        if request.method == "GET":
            audit_record(
                actor=request.user if isinstance(request.user, User) else None,
                action=AuditAction.READ,
                object_type="patient",
                object_id=object_id,
                patient=int(object_id) if object_id.isdigit() else None,
            )
        return super().change_view(request, object_id, *args, **kwargs)


@admin.register(Protocol)
class ProtocolAdmin(ClinicScopedAdmin):
    list_display = ["name", "clinic", "route", "dose_mg_per_kg", "infusion_minutes", "is_active"]
    list_filter = ["route", "is_active"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(clinic__in=request.user.clinics.all()) | queryset.filter(  # type: ignore[union-attr]
            clinic__isnull=True
        )

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
    list_display = ["username", "role", "first_name", "last_name", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = (*UserAdmin.fieldsets, ("Clinic", {"fields": ("role", "phone", "clinics")}))  # type: ignore[misc]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        members = User.objects.filter(clinics__in=request.user.clinics.all()).values("pk")  # type: ignore[union-attr]
        return queryset.filter(pk__in=members, is_superuser=False)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        # Only a superuser may grant superuser status, admin-site access or raw permissions.
        return (
            "is_superuser",
            "is_staff",
            "user_permissions",
            "groups",
            "last_login",
            "date_joined",
        )

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
class AuditEventAdmin(RoleAdmin):
    list_display = [
        "at",
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        if isinstance(request.user, User):
            return audit_event_list(user=request.user)
        return AuditEvent.objects.none()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
