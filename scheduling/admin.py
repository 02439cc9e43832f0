"""Django admin for scheduling: sessions, series and the sessions' transitions, read-only.
Booking and status changes go through the services, which hold the rules (overlaps, spacing,
closures, the nurse limit, reminders, the one owner of a session's status)."""

from typing import Any

from django.contrib import admin
from django.db.models import F, QuerySet
from django.http import HttpRequest

from clinic.admin import (
    CLINIC_FILTER,
    ReadOnlyRecordAdmin,
    ViewOnly,
    clinic_local,
    clinic_time,
    is_clinic_admin,
    row_timezone,
)
from scheduling.models import InfusionSeries, InfusionSession, SessionTransition

TRANSITION_FIELDS = ("at_local", "action", "from_status", "to_status", "actor", "reason", "details")


class SessionTransitionInline(ViewOnly, admin.TabularInline):
    """The session's history, on its page."""

    model = SessionTransition
    fields = readonly_fields = TRANSITION_FIELDS
    extra = 0
    at_local = clinic_time("at", "at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .select_related("actor")
            .annotate(clinic_timezone=F("session__clinic__timezone"))
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_clinic_admin(request) or super().has_view_permission(request, obj)


@admin.register(InfusionSession)
class InfusionSessionAdmin(ReadOnlyRecordAdmin):
    audit_object_type = "session"
    list_display = [
        "id",
        "starts_at_local",
        "patient",
        "chair_name",
        "protocol",
        "nurse",
        "status",
        "clinic",
    ]
    list_filter = ["status", CLINIC_FILTER]
    list_select_related = ["clinic", "patient", "chair", "protocol", "nurse"]
    search_fields = ["patient__last_name", "patient__first_name"]
    ordering = ["-starts_at"]
    readonly_fields = [
        "clinic",
        "patient",
        "protocol",
        "chair",
        "nurse",
        "series",
        "status",
        "starts_at_local",
        "ends_at_local",
        "revision",
        "booked_by",
        "booked_at_local",
        "fasting_confirmed",
        "escort_confirmed",
        "weight_kg",
        "checked_in_at_local",
        "escort_confirmed_by",
        "escort_confirmed_at_local",
        "escort_name",
        "escort_phone",
        "started_at_local",
        "completed_at_local",
        "discharge_arrangement",
        "discharge_reason",
    ]
    inlines = [SessionTransitionInline]
    starts_at_local = clinic_time("starts_at", "starts")
    ends_at_local = clinic_time("ends_at", "chair held until")
    booked_at_local = clinic_time("booked_at", "booked")
    checked_in_at_local = clinic_time("checked_in_at", "checked in")
    escort_confirmed_at_local = clinic_time("escort_confirmed_at", "escort confirmed")
    started_at_local = clinic_time("started_at", "infusion started")
    completed_at_local = clinic_time("completed_at", "infusion ended")

    @admin.display(description="chair", ordering="chair__name")
    def chair_name(self, session: InfusionSession) -> str:
        return session.chair.name


@admin.register(InfusionSeries)
class InfusionSeriesAdmin(ReadOnlyRecordAdmin):
    clinic_path = "patient__clinic"
    audit_object_type = "series"
    list_display = ["id", "patient", "protocol", "created_by", "created_at_local"]
    list_select_related = ["patient", "protocol", "created_by"]
    ordering = ["-created_at"]
    readonly_fields = ["patient", "protocol", "created_by", "created_at_local", "session_starts"]
    created_at_local = clinic_time("created_at", "created")

    @admin.display(description="sessions")
    def session_starts(self, series: InfusionSeries) -> str:
        zone_name = row_timezone(series)
        return "; ".join(
            f"{session.pk}: {clinic_local(session.starts_at, zone_name)} ({session.status})"
            for session in series.sessions.order_by("starts_at")
        )


@admin.register(SessionTransition)
class SessionTransitionAdmin(ReadOnlyRecordAdmin):
    clinic_path = "session__clinic"
    audit_object_type = "session_transition"
    patient_id_path = "session.patient_id"
    list_display = ["at_local", "session", "action", "from_status", "to_status", "actor"]
    list_filter = ["action"]
    list_select_related = ["session", "actor"]
    ordering = ["-at"]
    readonly_fields = ["session", *TRANSITION_FIELDS]
    at_local = clinic_time("at", "at")
