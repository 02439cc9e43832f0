"""Questionnaires: sending links, the follow-ups and baselines the system creates on its own,
expiry, and the patient's answers (with the item-9 safety path)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic.models import NotificationKind, Patient, User
from clinic.services import (
    audit_creation,
    audit_record,
    notification_schedule,
    notifications_cancel,
    patient_contact,
)
from config.errors import Invalid
from monitoring import instruments
from monitoring.models import (
    Alert,
    AlertParameter,
    Severity,
    Survey,
    SurveyResponse,
    SurveySource,
    SurveyStatus,
)
from monitoring.selectors.surveys import survey_require_open, survey_token_hash
from monitoring.services.alerts import alerts_raise
from scheduling.models import InfusionSession, SessionStatus

# --- Questionnaires ------------------------------------------------------------------------------

SURVEY_LINK_TEXT = (
    "{clinic}: please answer a short questionnaire about how you have been feeling over the "
    "last 2 weeks. It takes about 2 minutes: {url} (the link works once, until {expires})."
)
SURVEY_REMINDER_TEXT = (
    "{clinic}: a reminder to answer your short questionnaire: {url} (until {expires})."
)
# One reminder this long after the link, if the survey is still pending (and not expired).
SURVEY_REMINDER_AFTER = timedelta(hours=24)


def survey_url(raw_token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/s/{raw_token}/"


def _survey_create(
    *,
    patient: Patient,
    instrument: str,
    source: str,
    due_at: datetime,
    actor: User | None = None,
    session: InfusionSession | None = None,
) -> tuple[Survey, str]:
    """Create a survey and write its link and one reminder to the outbox, in the caller's
    transaction. The raw token leaves this function only in the messages and the return value:
    the database keeps its hash."""
    clinic = patient.clinic
    raw = secrets.token_urlsafe(32)  # 256 bits
    survey = Survey.objects.create(
        clinic=clinic,
        patient=patient,
        instrument=instrument,
        token_hash=survey_token_hash(raw),
        source=source,
        session=session,
        due_at=due_at,
        expires_at=due_at + timedelta(days=clinic.survey_expiry_days),
        created_by=actor,
    )
    contact = patient_contact(patient=patient)
    if contact is not None:
        channel, address = contact
        expires = f"{survey.expires_at.astimezone(clinic.zone):%A %d %B}"
        url = survey_url(raw)
        messages = [
            (NotificationKind.SURVEY_LINK, SURVEY_LINK_TEXT, due_at, "link"),
            (
                NotificationKind.SURVEY_REMINDER,
                SURVEY_REMINDER_TEXT,
                due_at + SURVEY_REMINDER_AFTER,
                "reminder",
            ),
        ]
        for kind, text, when, name in messages:
            if when >= survey.expires_at:
                continue
            notification_schedule(
                clinic=clinic,
                kind=kind,
                channel=channel,
                recipient=address,
                subject="A short questionnaire from your clinic",
                body=text.format(clinic=clinic.name, url=url, expires=expires),
                scheduled_for=when,
                dedup_key=f"survey:{survey.pk}:{name}",
                patient=patient,
                survey=survey.pk,
            )
    audit_creation(actor=actor, object_type="survey", object_id=survey.pk, patient=patient)
    return survey, raw


@transaction.atomic(durable=True)
def survey_send(
    *, actor: User, patient: Patient, instrument: str, due_at: datetime | None = None
) -> tuple[Survey, str]:
    """Staff send a questionnaire; returns the survey and its raw token (for the link)."""
    if instrument not in instruments.INSTRUMENTS:
        raise Invalid(
            "invalid", "Unknown instrument.", fields={"instrument": ["Unknown instrument."]}
        )
    return _survey_create(
        patient=patient,
        instrument=instrument,
        source=SurveySource.STAFF,
        due_at=due_at or timezone.now(),
        actor=actor,
    )


def followups_create(session: InfusionSession) -> None:
    """The day-after questionnaires of a discharged infusion (clinic cadence settings)."""
    clinic = session.clinic
    if not clinic.survey_followup_days:
        return
    today = timezone.now().astimezone(clinic.zone).date()
    day = today + timedelta(days=clinic.survey_followup_days)
    due = datetime.combine(day, clinic.survey_followup_time, tzinfo=clinic.zone)
    for code in instruments.INSTRUMENTS:
        exists = Survey.objects.filter(
            session=session, instrument=code, source=SurveySource.FOLLOW_UP
        ).exists()
        if not exists:
            _survey_create(
                patient=session.patient,
                instrument=code,
                source=SurveySource.FOLLOW_UP,
                due_at=due,
                session=session,
            )


def surveys_create_baseline(patient: Patient) -> int:
    """A baseline PHQ-9 and GAD-7 for a patient who has had no infusion and has no baseline
    yet, in the caller's transaction; how many were created. Called when a session is booked
    (scheduling's booking hook, registered in MonitoringConfig.ready), so that the baseline
    exists before the patient can check in; the sweep below is the safety net."""
    if not patient.clinic.survey_baseline_enabled:
        return 0
    # The patient's row is locked by the booking (spacing check): two bookings cannot both
    # find no baseline.
    if Survey.objects.filter(patient=patient, source=SurveySource.BASELINE).exists():
        return 0
    if InfusionSession.objects.filter(patient=patient, started_at__isnull=False).exists():
        return 0
    for code in instruments.INSTRUMENTS:
        _survey_create(
            patient=patient, instrument=code, source=SurveySource.BASELINE, due_at=timezone.now()
        )
    return len(instruments.INSTRUMENTS)


def surveys_create_baselines(*, limit: int = 200) -> int:
    """Beat job, the safety net under the booking hook: a baseline for every patient with a
    session booked or checked in, no infusion yet, and no baseline survey."""
    patients = (
        Patient.objects.filter(
            clinic__survey_baseline_enabled=True,
            sessions__status__in=(SessionStatus.SCHEDULED, SessionStatus.CHECKED_IN),
        )
        .exclude(sessions__started_at__isnull=False)
        .exclude(surveys__source=SurveySource.BASELINE)
        .select_related("clinic")
        .distinct()[:limit]
    )
    created = 0
    for patient in patients:
        with transaction.atomic():
            created += surveys_create_baseline(patient)
    return created


def survey_baseline_on_booking(session: InfusionSession) -> None:
    """Scheduling's booking hook: the baseline questionnaires of a first booking."""
    surveys_create_baseline(session.patient)


def surveys_expire_overdue() -> int:
    """Beat job: pending surveys past their expiry become expired; their messages stop."""
    now = timezone.now()
    expired = 0
    for survey_id in Survey.objects.filter(
        status=SurveyStatus.PENDING, expires_at__lte=now
    ).values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            changed = Survey.objects.filter(pk=survey_id, status=SurveyStatus.PENDING).update(
                status=SurveyStatus.EXPIRED
            )
            if changed:
                notifications_cancel(survey=survey_id)
                expired += 1
    return expired


@dataclass(frozen=True)
class SurveySubmission:
    survey: Survey
    response: SurveyResponse
    crisis_text: str | None


def survey_submit(*, raw_token: str, answers: Any) -> SurveySubmission:
    """Record a patient's answers, once. Two submits racing: the row lock lets one in, the other
    finds it completed (409). An answer >= 1 on PHQ-9 item 9 raises a critical alert for the
    patient's clinicians through the same pipeline as a critical vital sign."""
    with transaction.atomic(durable=True):
        survey = (
            Survey.objects.select_for_update(of=("self",))
            .select_related("clinic", "patient")
            .filter(token_hash=survey_token_hash(raw_token))
            .first()
        )
        now = timezone.now()
        survey = survey_require_open(survey, now=now)
        instrument = instruments.get(survey.instrument)
        try:
            result = instrument.score(answers)
        except instruments.AnswerError as exc:
            raise Invalid("invalid", exc.message, fields={"answers": [exc.message]}) from exc
        response = SurveyResponse.objects.create(
            survey=survey,
            answers=list(result.answers),
            total_score=result.total,
            severity=result.severity,
            safety_flag=result.safety_flag,
            completed_at=now,
        )
        survey.status = SurveyStatus.COMPLETED
        survey.completed_at = now
        survey.save(update_fields=["status", "completed_at"])
        notifications_cancel(survey=survey.pk)
        audit_record(
            actor=None,
            action="survey_submit",
            object_type="survey",
            object_id=survey.pk,
            patient=survey.patient,
        )
        if result.safety_flag:
            alerts_raise(
                [
                    Alert(
                        clinic=survey.clinic,
                        patient=survey.patient,
                        session=survey.session,
                        parameter=AlertParameter.PHQ9_ITEM9,
                        severity=Severity.CRITICAL,
                        message=(
                            "PHQ-9 item 9 (thoughts of being better off dead or of self-harm) "
                            "answered above 'not at all': contact the patient now."
                        ),
                        value=str(result.answers[(instrument.safety_item or 1) - 1]),
                        dedup_key=f"survey:{survey.pk}:phq9_item9",
                    )
                ]
            )
    return SurveySubmission(
        survey=survey,
        response=response,
        crisis_text=survey.clinic.crisis_text if result.safety_flag else None,
    )
