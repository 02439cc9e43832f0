"""Clinic set-up, people and the audit trail."""

from __future__ import annotations

import zoneinfo
from datetime import time
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.timezone import now

WEEKDAYS = range(7)  # Monday = 0, as datetime.weekday()
phone_validator = RegexValidator(
    r"^\+[1-9]\d{6,14}$", "Enter the number in international format, e.g. +15551234567."
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/New_York).")


def default_open_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]


def default_reminder_offsets_hours() -> list[int]:
    return [48, 2]


# CLINICAL.md: the 988 Suicide & Crisis Lifeline in the US; each clinic may set its own text.
DEFAULT_CRISIS_TEXT = (
    "If you are thinking about harming yourself, you are not alone. In the US, call or text 988 "
    "(the 988 Suicide & Crisis Lifeline) at any time, or call 911 if you are in danger now. "
    "Your care team has been told and will contact you."
)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    SCHEDULER = "scheduler", "Scheduler"
    NURSE = "nurse", "Nurse"
    CLINICIAN = "clinician", "Clinician"
    PATIENT = "patient", "Patient"


STAFF_ROLES = frozenset({Role.ADMIN, Role.SCHEDULER, Role.NURSE, Role.CLINICIAN})


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    opening_time = models.TimeField(default=time(8, 0))
    closing_time = models.TimeField(default=time(18, 0))
    open_weekdays = ArrayField(
        models.PositiveSmallIntegerField(), size=7, default=default_open_weekdays
    )
    nurse_concurrent_patient_limit = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    # A patient's infusions start at least this many hours apart (CLINICAL.md "Spacing": no two
    # infusions on one day).
    min_hours_between_infusions = models.PositiveSmallIntegerField(
        default=24, validators=[MaxValueValidator(168)]
    )
    # Appointment reminders go out this many hours before a session.
    reminder_offsets_hours = ArrayField(
        models.PositiveSmallIntegerField(), size=5, default=default_reminder_offsets_hours
    )
    # Non-urgent messages to patients are held in this nightly window (local time).
    quiet_hours_start = models.TimeField(default=time(21, 0))
    quiet_hours_end = models.TimeField(default=time(8, 0))
    # A critical alert still open this long is escalated (paged again, up the chain).
    alert_escalation_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    # Questionnaire cadence: a baseline PHQ-9 and GAD-7 when the first session is booked, and a
    # follow-up this many days after each discharge at this local time.
    survey_baseline_enabled = models.BooleanField(default=True)
    survey_followup_days = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(30)]
    )  # 0: no follow-ups
    survey_followup_time = models.TimeField(default=time(10, 0))
    survey_expiry_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    # Shown to a patient at once when they answer PHQ-9 item 9 with anything but "not at all".
    crisis_text = models.TextField(default=DEFAULT_CRISIS_TEXT)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(opening_time__lt=F("closing_time")),
                name="clinic_opens_before_it_closes",
            ),
            models.CheckConstraint(
                condition=Q(open_weekdays__contained_by=list(WEEKDAYS)),
                name="clinic_open_weekdays_valid",
            ),
            models.CheckConstraint(
                condition=Q(nurse_concurrent_patient_limit__gte=1),
                name="clinic_nurse_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class ClinicClosure(models.Model):
    """A day the clinic is closed (no times), or open only from `opens_at` to `closes_at`."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="closures")
    date = models.DateField()
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        "User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "date"], name="closure_one_per_clinic_day"),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True, closes_at__isnull=True)
                | Q(opens_at__isnull=False, closes_at__isnull=False, opens_at__lt=F("closes_at")),
                name="closure_hours_whole_or_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clinic} closed {self.date}"


class User(AbstractUser):
    """Staff and patients who log in. A superuser acts as an admin of every clinic."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SCHEDULER)
    phone = models.CharField(max_length=16, blank=True, validators=[phone_validator])
    clinics = models.ManyToManyField(Clinic, related_name="staff", blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
        ]

    @property
    def effective_role(self) -> str:
        return Role.ADMIN.value if self.is_superuser else str(self.role)

    @property
    def reachable(self) -> bool:
        """Whether a page can reach them: an SMS number or an e-mail address on file."""
        return bool(self.phone or self.email)


class Chair(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="chairs")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="chair_name_unique_in_clinic"),
        ]

    def __str__(self) -> str:
        return f"{self.clinic.name} / {self.name}"


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"


class Contraindication(models.TextChoices):
    """Recorded at intake (CLINICAL.md): flags for a clinician's review, not refusals."""

    UNCONTROLLED_HYPERTENSION = "uncontrolled_hypertension", "Uncontrolled hypertension"
    PSYCHOSIS_HISTORY = "psychosis_history", "History of psychosis"
    RECENT_SUBSTANCE_USE_DISORDER = (
        "recent_substance_use_disorder",
        "Substance use disorder in the last 3 months",
    )
    PREGNANCY = "pregnancy", "Pregnancy"
    ANEURYSMAL_VASCULAR_DISEASE = (
        "aneurysmal_vascular_disease",
        "Aneurysmal vascular disease or arteriovenous malformation",
    )
    INTRACEREBRAL_HAEMORRHAGE_HISTORY = (
        "intracerebral_haemorrhage_history",
        "History of intracerebral haemorrhage",
    )
    KETAMINE_HYPERSENSITIVITY = "ketamine_hypersensitivity", "Known hypersensitivity to ketamine"


class Patient(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    user = models.OneToOneField(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="patient"
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[phone_validator])
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("20.0")), MaxValueValidator(Decimal("400.0"))],
    )
    preferred_channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    sms_opt_in = models.BooleanField(default=True)
    email_opt_in = models.BooleanField(default=True)
    contraindications = ArrayField(
        models.CharField(max_length=40, choices=Contraindication.choices), default=list, blank=True
    )
    contraindications_reviewed_at = models.DateTimeField(null=True, blank=True)
    contraindications_reviewed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["clinic", "last_name", "first_name"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__gte=20) & Q(weight_kg__lte=400),
                name="patient_weight_plausible",
            ),
            models.CheckConstraint(
                condition=~Q(preferred_channel=Channel.SMS, phone="")
                & ~Q(preferred_channel=Channel.EMAIL, email=""),
                name="patient_preferred_channel_has_contact",
            ),
            models.CheckConstraint(
                condition=Q(contraindications__contained_by=Contraindication.values),
                name="patient_contraindications_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def contraindications_unreviewed(self) -> bool:
        return bool(self.contraindications) and self.contraindications_reviewed_at is None


class Route(models.TextChoices):
    IV = "iv", "Intravenous"
    INTRANASAL = "intranasal", "Intranasal (esketamine)"
    IM = "im", "Intramuscular"
    ORAL = "oral", "Oral"
    SUBLINGUAL = "sublingual", "Sublingual"


# Standard IV ketamine for depression runs 40-60 minutes (Fava et al. 2018, PMC6447473).
IV_INFUSION_MINUTES = (40, 60)
# Esketamine (Spravato) label: observe at least 2 hours after every dose.
INTRANASAL_OBSERVATION_MINUTES = 120
# Readings every 5-30 minutes during the infusion and recovery (CLINICAL.md).
VITALS_INTERVAL_MINUTES = (5, 30)


class Protocol(models.Model):
    """How an infusion is given and watched. `clinic` null: offered to every clinic."""

    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="protocols"
    )
    name = models.CharField(max_length=200)
    route = models.CharField(max_length=16, choices=Route.choices, default=Route.IV)
    dose_mg_per_kg = models.DecimalField(
        max_digits=5, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    infusion_minutes = models.PositiveSmallIntegerField()
    prep_minutes = models.PositiveSmallIntegerField(default=15)
    recovery_minutes = models.PositiveSmallIntegerField(default=30)
    vitals_interval_minutes = models.PositiveSmallIntegerField(default=15)
    # Only the overrides; clinic.thresholds.effective_thresholds() lays them over the defaults.
    thresholds = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "name"],
                name="protocol_name_unique_in_clinic",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=~Q(route=Route.IV)
                | Q(
                    infusion_minutes__gte=IV_INFUSION_MINUTES[0],
                    infusion_minutes__lte=IV_INFUSION_MINUTES[1],
                ),
                name="protocol_iv_infusion_40_to_60_minutes",
            ),
            models.CheckConstraint(
                condition=Q(
                    vitals_interval_minutes__gte=VITALS_INTERVAL_MINUTES[0],
                    vitals_interval_minutes__lte=VITALS_INTERVAL_MINUTES[1],
                ),
                name="protocol_vitals_interval_5_to_30_minutes",
            ),
            models.CheckConstraint(
                condition=Q(infusion_minutes__gte=1, infusion_minutes__lte=240),
                name="protocol_infusion_minutes_bounded",
            ),
            models.CheckConstraint(
                condition=Q(dose_mg_per_kg__gt=0), name="protocol_dose_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def booked_minutes(self) -> int:
        return self.prep_minutes + self.infusion_minutes + self.recovery_minutes


class AuthToken(models.Model):
    """A bearer token. Only its SHA-256 is stored: a leaked table grants no access."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"token of {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class LoginFailure(models.Model):
    """One failed login, counted per username and per address for lockout."""

    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True)
    at = models.DateTimeField(default=now)

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"]),
            models.Index(fields=["ip", "at"]),
        ]

    def __str__(self) -> str:
        return f"failed login for {self.username} at {self.at:%Y-%m-%d %H:%M}"


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login_failed", "Failed login"
    LOGOUT = "logout", "Logout"


class AuditEvent(models.Model):
    """Who touched what, when, from where. Append-only: the database refuses UPDATE and DELETE
    (trigger in migration 0002)."""

    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=now)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["patient", "at"]),
            models.Index(fields=["at"]),
        ]

    def __str__(self) -> str:
        return (
            f"{self.actor_username or 'system'} {self.action} {self.object_type} {self.object_id}"
        )


class NotificationKind(models.TextChoices):
    APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
    SURVEY_LINK = "survey_link", "Survey link"
    SURVEY_REMINDER = "survey_reminder", "Survey reminder"
    ALERT = "alert", "Alert"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Notification(models.Model):
    """The outbox: every outbound message, written in the transaction of the thing it is about
    and delivered by a worker that claims it with a conditional UPDATE (clinic.services)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    recipient_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.CharField(max_length=254)  # a phone number or an e-mail address
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    calendar_ics = models.TextField(blank=True)  # attached to e-mails when present
    dedup_key = models.CharField(max_length=200, unique=True)
    urgent = models.BooleanField(default=False)  # urgent messages ignore quiet hours
    status = models.CharField(
        max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    scheduled_for = models.DateTimeField()  # due at; moved by quiet hours and retries
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Ids of the session / survey it is about. Plain columns, not foreign keys: clinic depends
    # on no other app (DESIGN.md), and a notification outlives nothing it refers to.
    session = models.BigIntegerField(null=True, blank=True, db_index=True)
    survey = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [
            models.Index(
                fields=["scheduled_for"],
                name="notification_due_idx",
                condition=Q(status="pending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=NotificationStatus.values), name="notification_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=NotificationStatus.SENT) | Q(sent_at__isnull=False),
                name="notification_sent_has_sent_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.channel} ({self.status})"
