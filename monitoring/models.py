"""Monitoring: vital readings, the alerts they raise, the clinical start of an infusion and
adverse events. Clinical rows are append-only: the database refuses to delete them or to change
what was measured (triggers in migration 0002); a correction is a new reading that supersedes."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.timezone import now

from clinic.models import Clinic, Patient, User
from scheduling.models import InfusionSession


class Consciousness(models.TextChoices):
    """ACVPU, as NEWS2 scores it: anything but alert scores 3."""

    ALERT = "alert", "Alert"
    CONFUSION = "confusion", "New confusion"
    VOICE = "voice", "Responds to voice"
    PAIN = "pain", "Responds to pain"
    UNRESPONSIVE = "unresponsive", "Unresponsive"


# What a reading can physically be (CLINICAL.md "Plausibility"); anything else is bad input.
PLAUSIBLE = {
    "systolic": (50, 300),
    "diastolic": (20, 200),
    "heart_rate": (20, 250),
    "spo2": (50, 100),
    "respiratory_rate": (4, 60),
}
PLAUSIBLE_TEMPERATURE_C = ("30.0", "45.0")
# What a reading measures: the numbers, then consciousness (a level, not a number).
NUMERIC_MEASUREMENTS = (
    "systolic",
    "diastolic",
    "heart_rate",
    "spo2",
    "respiratory_rate",
    "temperature_c",
)
MEASUREMENTS = (*NUMERIC_MEASUREMENTS, "consciousness")


def _plausible(field: str) -> Q:
    low, high = PLAUSIBLE[field]
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": low, f"{field}__lte": high})


class VitalReading(models.Model):
    # The tablet's UUID: a reading re-sent after a dropped connection is the same reading.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="readings")
    taken_at = models.DateTimeField()  # the device's clock
    received_at = models.DateTimeField(default=now)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    device_id = models.CharField(max_length=100, blank=True)
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)  # mmHg, LOINC 8480-6
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)  # mmHg, LOINC 8462-4
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)  # /min, LOINC 8867-4
    spo2 = models.PositiveSmallIntegerField(null=True, blank=True)  # %, LOINC 2708-6
    respiratory_rate = models.PositiveSmallIntegerField(null=True, blank=True)  # /min, 9279-1
    temperature_c = models.DecimalField(
        max_digits=3, decimal_places=1, null=True, blank=True
    )  # LOINC 8310-5
    # NULL is "not assessed", which an empty string would blur with a value.
    consciousness = models.CharField(  # noqa: DJ001
        max_length=16, choices=Consciousness.choices, null=True, blank=True
    )
    on_oxygen = models.BooleanField(default=False)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    # Written by the flagging job (the same rules the API answered with).
    flags = models.JSONField(default=list, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["session", "taken_at"]),
            models.Index(
                fields=["received_at"], name="reading_unflagged_idx", condition=Q(flagged_at=None)
            ),
        ]
        constraints = [
            *(
                models.CheckConstraint(
                    condition=_plausible(field), name=f"reading_{field}_plausible"
                )
                for field in PLAUSIBLE
            ),
            models.CheckConstraint(
                condition=Q(temperature_c__isnull=True)
                | Q(
                    temperature_c__gte=PLAUSIBLE_TEMPERATURE_C[0],
                    temperature_c__lte=PLAUSIBLE_TEMPERATURE_C[1],
                ),
                name="reading_temperature_c_plausible",
            ),
            models.CheckConstraint(
                condition=Q(systolic__isnull=True)
                | Q(diastolic__isnull=True)
                | Q(diastolic__lt=F("systolic")),
                name="reading_diastolic_below_systolic",
            ),
            models.CheckConstraint(
                condition=~Q(**{f"{field}__isnull": True for field in MEASUREMENTS}),
                name="reading_has_a_measurement",
            ),
        ]

    def __str__(self) -> str:
        return f"reading {self.id} of session {self.session_id}"


class AlertParameter(models.TextChoices):
    SYSTOLIC = "systolic", "Systolic BP"
    DIASTOLIC = "diastolic", "Diastolic BP"
    HEART_RATE = "heart_rate", "Heart rate"
    SPO2 = "spo2", "SpO2"
    RESPIRATORY_RATE = "respiratory_rate", "Respiratory rate"
    TEMPERATURE = "temperature", "Temperature"
    CONSCIOUSNESS = "consciousness", "Consciousness"
    BASELINE_RISE = "baseline_rise", "Rise from baseline"
    NEWS2 = "news2", "NEWS2"
    MISSED_READING = "missed_reading", "Missed reading"
    PHQ9_ITEM9 = "phq9_item9", "PHQ-9 item 9"


class Severity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class Alert(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="alerts")
    session = models.ForeignKey(
        InfusionSession, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    reading = models.ForeignKey(
        VitalReading, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts"
    )
    parameter = models.CharField(max_length=32, choices=AlertParameter.choices)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    message = models.TextField()
    value = models.CharField(max_length=64, blank=True)
    # One alert per reading and parameter, per missed-reading gap, per survey answer: a task
    # that runs twice finds its alert already there.
    dedup_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    created_at = models.DateTimeField(default=now)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    last_escalated_at = models.DateTimeField(null=True, blank=True)
    # Whom its pages went to (staff ids, every level), and whether a page found nobody
    # reachable (then it went up the chain at once).
    paged = ArrayField(models.BigIntegerField(), default=list, blank=True)
    unreachable = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "status", "created_at"]),
            models.Index(
                fields=["created_at"],
                name="alert_open_critical_idx",
                condition=Q(status="open", severity="critical"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="alert_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(parameter__in=AlertParameter.values), name="alert_parameter_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=AlertStatus.OPEN)
                | Q(acknowledged_by__isnull=False, acknowledged_at__isnull=False),
                name="alert_acknowledged_has_who_and_when",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity} {self.parameter} alert {self.pk}"


class AlertEscalation(models.Model):
    """A record that an open critical alert was paged again, to whom, and when."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="escalations")
    level = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=now)
    recipients = models.ManyToManyField(User, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "level"], name="escalation_once_per_level"),
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} escalated to level {self.level}"


class InfusionStart(models.Model):
    """The clinical facts of starting an infusion: the baseline it was started on, the dose,
    and a clinician's override of the pre-start gate if there was one."""

    session = models.OneToOneField(InfusionSession, on_delete=models.PROTECT, related_name="start")
    baseline_reading = models.ForeignKey(VitalReading, on_delete=models.PROTECT, related_name="+")
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    dose_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3)
    dose_mg = models.DecimalField(max_digits=7, decimal_places=2)
    gate_failures = models.JSONField(default=list, blank=True)
    override_reason = models.TextField(blank=True)
    override_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"start of session {self.session_id}"


class AdverseEventKind(models.TextChoices):
    NAUSEA = "nausea", "Nausea"
    VOMITING = "vomiting", "Vomiting"
    DIZZINESS = "dizziness", "Dizziness"
    DISSOCIATION = "dissociation", "Dissociation"
    HYPERTENSION = "hypertension", "Hypertension"
    HEADACHE = "headache", "Headache"
    BLURRED_VISION = "blurred_vision", "Blurred vision"
    ANXIETY_OR_AGITATION = "anxiety_or_agitation", "Anxiety or agitation"
    OTHER = "other", "Other"


class AdverseEventSeverity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class AdverseEvent(models.Model):
    session = models.ForeignKey(
        InfusionSession, on_delete=models.PROTECT, related_name="adverse_events"
    )
    kind = models.CharField(max_length=32, choices=AdverseEventKind.choices)
    severity = models.CharField(max_length=16, choices=AdverseEventSeverity.choices)
    action_taken = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=now)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=AdverseEventKind.values), name="adverse_event_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=AdverseEventSeverity.values),
                name="adverse_event_severity_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity} {self.kind} in session {self.session_id}"


class SurveyStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"


class SurveySource(models.TextChoices):
    STAFF = "staff", "Sent by staff"
    BASELINE = "baseline", "Baseline before the first infusion"
    FOLLOW_UP = "follow_up", "Follow-up after an infusion"


class Survey(models.Model):
    """One questionnaire sent to one patient, answered once through a link. Only the SHA-256 of
    the link's token is stored: the token itself exists in the message that carried it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="surveys")
    instrument = models.CharField(max_length=16)  # a key of monitoring.instruments.INSTRUMENTS
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=16, choices=SurveyStatus.choices, default=SurveyStatus.PENDING
    )
    source = models.CharField(max_length=16, choices=SurveySource.choices)
    session = models.ForeignKey(
        InfusionSession, on_delete=models.PROTECT, null=True, blank=True, related_name="surveys"
    )  # the infusion a follow-up is about
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "instrument", "completed_at"]),
            models.Index(
                fields=["expires_at"], name="survey_pending_idx", condition=Q(status="pending")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SurveyStatus.values), name="survey_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("due_at")), name="survey_expires_after_due"
            ),
            models.CheckConstraint(
                condition=~Q(status=SurveyStatus.COMPLETED) | Q(completed_at__isnull=False),
                name="survey_completed_has_time",
            ),
            # One follow-up of each instrument per infusion: the discharge and a sweep racing
            # to create it make one.
            models.UniqueConstraint(
                fields=["session", "instrument"],
                condition=Q(source="follow_up"),
                name="survey_one_follow_up_per_session",
            ),
            models.UniqueConstraint(
                fields=["patient", "instrument"],
                condition=Q(source="baseline"),
                name="survey_one_baseline_per_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} survey {self.pk} ({self.status})"


class SurveyResponse(models.Model):
    """The answers, as given, and their score. Never changed (append-only trigger)."""

    survey = models.OneToOneField(Survey, on_delete=models.PROTECT, related_name="response")
    answers = ArrayField(models.PositiveSmallIntegerField())
    total_score = models.PositiveSmallIntegerField()
    severity = models.CharField(max_length=32)
    safety_flag = models.BooleanField(default=False)
    completed_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"response to survey {self.survey_id}: {self.total_score}"
