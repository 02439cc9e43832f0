"""Django admin for monitoring: readings, alerts and their escalations, infusion starts, adverse
events, questionnaires and their answers. All read-only: they are clinical records, written by
the services, and the database refuses most changes to them (append-only triggers)."""

from django.contrib import admin

from clinic.admin import CLINIC_FILTER, ReadOnlyRecordAdmin, clinic_time
from monitoring.models import (
    MEASUREMENTS,
    AdverseEvent,
    Alert,
    AlertEscalation,
    InfusionStart,
    Survey,
    SurveyResponse,
    VitalReading,
)


@admin.register(VitalReading)
class VitalReadingAdmin(ReadOnlyRecordAdmin):
    clinic_path = "session__clinic"
    audit_object_type = "vital_reading"
    patient_id_path = "session.patient_id"
    list_display = ["taken_at_local", "session", "session__patient", *MEASUREMENTS, "flags"]
    list_select_related = ["session__patient"]
    ordering = ["-taken_at"]
    readonly_fields = [
        "id",
        "session",
        "taken_at_local",
        "received_at_local",
        "recorded_by",
        "device_id",
        *MEASUREMENTS,
        "on_oxygen",
        "supersedes",
        "flags",
        "flagged_at_local",
    ]
    taken_at_local = clinic_time("taken_at", "taken")
    received_at_local = clinic_time("received_at", "received")
    flagged_at_local = clinic_time("flagged_at", "flagged")


@admin.register(Alert)
class AlertAdmin(ReadOnlyRecordAdmin):
    audit_object_type = "alert"
    list_display = [
        "created_at_local",
        "severity",
        "parameter",
        "value",
        "patient",
        "session",
        "status",
        "escalation_level",
        "unreachable",
    ]
    list_filter = ["severity", "status", "parameter", "unreachable", CLINIC_FILTER]
    list_select_related = ["patient", "session"]
    ordering = ["-created_at"]
    readonly_fields = [
        "clinic",
        "patient",
        "session",
        "reading",
        "parameter",
        "severity",
        "message",
        "value",
        "status",
        "created_at_local",
        "acknowledged_by",
        "acknowledged_at_local",
        "note",
        "escalation_level",
        "last_escalated_at_local",
        "paged",
        "unreachable",
    ]
    created_at_local = clinic_time("created_at", "raised")
    acknowledged_at_local = clinic_time("acknowledged_at", "acknowledged")
    last_escalated_at_local = clinic_time("last_escalated_at", "last escalated")


@admin.register(AlertEscalation)
class AlertEscalationAdmin(ReadOnlyRecordAdmin):
    clinic_path = "alert__clinic"
    audit_object_type = "alert_escalation"
    patient_id_path = "alert.patient_id"
    list_display = ["at_local", "alert", "level"]
    list_select_related = ["alert"]
    ordering = ["-at"]
    readonly_fields = ["alert", "level", "at_local", "recipients"]
    at_local = clinic_time("at", "at")


@admin.register(InfusionStart)
class InfusionStartAdmin(ReadOnlyRecordAdmin):
    clinic_path = "session__clinic"
    audit_object_type = "infusion_start"
    patient_id_path = "session.patient_id"
    list_display = [
        "started_at_local",
        "session",
        "session__patient",
        "dose_mg",
        "started_by",
        "override_by",
    ]
    list_select_related = ["session__patient", "started_by", "override_by"]
    ordering = ["-started_at"]
    readonly_fields = [
        "session",
        "started_at_local",
        "started_by",
        "baseline_reading",
        "weight_kg",
        "dose_mg_per_kg",
        "dose_mg",
        "gate_failures",
        "override_reason",
        "override_by",
    ]
    started_at_local = clinic_time("started_at", "started")


@admin.register(AdverseEvent)
class AdverseEventAdmin(ReadOnlyRecordAdmin):
    clinic_path = "session__clinic"
    audit_object_type = "adverse_event"
    patient_id_path = "session.patient_id"
    list_display = [
        "occurred_at_local",
        "session",
        "session__patient",
        "kind",
        "severity",
        "recorded_by",
    ]
    list_filter = ["kind", "severity"]
    list_select_related = ["session__patient", "recorded_by"]
    ordering = ["-occurred_at"]
    readonly_fields = [
        "session",
        "kind",
        "severity",
        "occurred_at_local",
        "action_taken",
        "notes",
        "recorded_by",
        "recorded_at_local",
    ]
    occurred_at_local = clinic_time("occurred_at", "occurred")
    recorded_at_local = clinic_time("recorded_at", "recorded")


@admin.register(Survey)
class SurveyAdmin(ReadOnlyRecordAdmin):
    """Not the token's hash: the link is the patient's alone."""

    audit_object_type = "survey"
    list_display = [
        "id",
        "instrument",
        "patient",
        "source",
        "status",
        "due_at_local",
        "completed_at_local",
    ]
    list_filter = ["instrument", "source", "status", CLINIC_FILTER]
    list_select_related = ["patient"]
    ordering = ["-due_at"]
    readonly_fields = [
        "clinic",
        "patient",
        "instrument",
        "source",
        "status",
        "session",
        "due_at_local",
        "expires_at_local",
        "created_by",
        "created_at_local",
        "completed_at_local",
    ]
    due_at_local = clinic_time("due_at", "due")
    expires_at_local = clinic_time("expires_at", "expires")
    created_at_local = clinic_time("created_at", "created")
    completed_at_local = clinic_time("completed_at", "completed")


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyRecordAdmin):
    clinic_path = "survey__clinic"
    audit_object_type = "survey_response"
    patient_id_path = "survey.patient_id"
    list_display = [
        "completed_at_local",
        "survey",
        "survey__patient",
        "total_score",
        "severity",
        "safety_flag",
    ]
    list_filter = ["safety_flag"]
    list_select_related = ["survey__patient"]
    ordering = ["-completed_at"]
    readonly_fields = [
        "survey",
        "answers",
        "total_score",
        "severity",
        "safety_flag",
        "completed_at_local",
    ]
    completed_at_local = clinic_time("completed_at", "completed")
