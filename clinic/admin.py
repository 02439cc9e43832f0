"""Django admin for clinic set-up. A clinic admin (is_staff, role admin) sees their clinics."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from clinic.models import AuditEvent, Chair, Clinic, Patient, Protocol, User


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


class ClinicScopedAdmin(RoleAdmin):
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


@admin.register(User)
class StaffAdmin(RoleAdmin, UserAdmin):
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
        # Only a superuser may grant superuser status or raw permissions.
        return ("is_superuser", "user_permissions", "groups", "last_login", "date_joined")


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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
