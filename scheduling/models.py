"""Infusion sessions: the booking that holds a chair, and the lifecycle of the visit."""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils.timezone import now

from clinic.models import Chair, Clinic, Patient, Protocol, User


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CHECKED_IN = "checked_in", "Checked in"
    IN_PROGRESS = "in_progress", "In progress"
    RECOVERY = "recovery", "Recovery"
    DISCHARGED = "discharged", "Discharged"
    STOPPED = "stopped", "Stopped early"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# A session that never happened frees its chair; every other one holds it.
RELEASED_STATUSES = (SessionStatus.CANCELLED, SessionStatus.NO_SHOW)


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def _key_range(column: str) -> Func:
    """An integer key as the degenerate range [k, k]: equality for an exclusion constraint that
    needs no btree_gist (the embedded PostgreSQL ships no contrib extensions; DESIGN.md 3)."""
    return Func(F(column), F(column), Value("[]"), function="int8range")


class InfusionSeries(models.Model):
    """An induction series: several sessions booked together, all or none."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="series")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name_plural = "infusion series"

    def __str__(self) -> str:
        return f"series {self.pk} of {self.patient}"


class DischargeArrangement(models.TextChoices):
    HOME_WITH_ESCORT = "home_with_escort", "Home with escort"
    AMBULANCE = "ambulance", "Ambulance"
    ADMITTED = "admitted", "Admitted"
    OTHER = "other", "Other"


class InfusionSession(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="sessions")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="sessions")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="sessions")
    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, related_name="sessions")
    nurse = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="nursed_sessions"
    )
    series = models.ForeignKey(
        InfusionSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    # The chair is held for [starts_at, ends_at): prep + infusion + recovery, frozen at booking.
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    # Bumped by every reschedule and cancellation: the calendar event's SEQUENCE, and part of
    # each reminder's dedup key so that a session moved back and forth gets fresh reminders.
    revision = models.PositiveIntegerField(default=0)
    booked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField(default=now)
    # Recorded at check-in (CLINICAL.md): fasting, escort or driver, current weight.
    fasting_confirmed = models.BooleanField(null=True, blank=True)
    escort_confirmed = models.BooleanField(null=True, blank=True)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    # An escort not confirmed at check-in may be confirmed later (a nurse, until discharge).
    escort_confirmed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    escort_confirmed_at = models.DateTimeField(null=True, blank=True)
    escort_name = models.CharField(max_length=200, blank=True)
    escort_phone = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # How the patient left (CLINICAL.md "Discharge"): home with the escort, or, on a
    # clinician's written reason, by ambulance, admitted, or another arrangement.
    discharge_arrangement = models.CharField(
        max_length=24, choices=DischargeArrangement.choices, blank=True
    )
    discharge_reason = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "starts_at"]),
            models.Index(fields=["patient", "starts_at"]),
            models.Index(
                fields=["starts_at"], name="session_scheduled_idx", condition=Q(status="scheduled")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SessionStatus.values), name="session_status_valid"
            ),
            ExclusionConstraint(
                name="session_chair_no_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", Value("[)")), RangeOperators.OVERLAPS),
                    (_key_range("chair_id"), RangeOperators.OVERLAPS),
                ],
                condition=~Q(status__in=RELEASED_STATUSES),
            ),
            ExclusionConstraint(
                name="session_patient_no_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", Value("[)")), RangeOperators.OVERLAPS),
                    (_key_range("patient_id"), RangeOperators.OVERLAPS),
                ],
                condition=~Q(status__in=RELEASED_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.pk} ({self.status})"


class SessionTransition(models.Model):
    """Who moved a session from one status to another, when, and why. Append-only."""

    session = models.ForeignKey(
        InfusionSession, on_delete=models.PROTECT, related_name="transitions"
    )
    from_status = models.CharField(max_length=16, blank=True)  # blank: the booking itself
    to_status = models.CharField(max_length=16)
    action = models.CharField(max_length=32)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )  # null: the system (e.g. the no-show job)
    at = models.DateTimeField(default=now)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.from_status or 'new'} -> {self.to_status}"
