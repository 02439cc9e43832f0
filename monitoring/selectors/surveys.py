"""Reads of questionnaires: surveys in scope, a survey's answers item by item, a survey by its
link's token, outcomes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from clinic.audit import audit_read
from clinic.filters import filtered
from clinic.models import Patient, User
from clinic.selectors import in_caller_scope, patient_get
from config.errors import Conflict, Gone, NotFound, get_or_not_found
from monitoring import charts, instruments
from monitoring.filters import SurveyFilter
from monitoring.models import (
    Survey,
    SurveyResponse,
    SurveyStatus,
)
from scheduling.models import InfusionSession


def survey_token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def survey_list(*, user: User, filters: Mapping[str, Any] | None = None) -> QuerySet[Survey]:
    """The surveys in the caller's scope, narrowed by `filters` (monitoring/filters.py)."""
    return filtered(SurveyFilter, in_caller_scope(Survey.objects.all(), user=user), filters)


def survey_get(*, user: User, survey_id: object) -> Survey:
    """The survey in the caller's scope, unaudited (for the permission class, which looks a
    URL's survey up before refusing a role). Reading its answers is survey_read."""
    return get_or_not_found(survey_list(user=user), pk=survey_id)


def survey_read(*, user: User, survey_id: object) -> dict[str, Any]:
    """The survey in the caller's scope with its answers item by item: each of the instrument's
    items (number, published wording, LOINC code) with the answer given and its wording (None
    while unanswered, and for an optional item left out), and the total, severity and safety
    flag (an answer of 1 or more on PHQ-9 item 9). One query; the read is audited."""
    survey = get_or_not_found(survey_list(user=user).select_related("response"), pk=survey_id)
    audit_read(actor=user, object_type="survey", object_id=survey.pk, patient=survey.patient_id)
    instrument = instruments.get(survey.instrument)
    response: SurveyResponse | None = getattr(survey, "response", None)  # None: not answered
    answers = list(response.answers) if response is not None else []
    items = []
    for item in instrument.items:
        answer = answers[item.number - 1] if item.number <= len(answers) else None
        wording = {option.value: option.text for option in item.options}
        items.append(
            {
                "number": item.number,
                "text": item.text,
                "loinc": item.loinc,
                "scored": item.scored,
                "answer": answer,
                "answer_text": wording.get(answer) if answer is not None else None,
            }
        )
    return {
        "id": survey.pk,
        "patient": survey.patient_id,
        "instrument": survey.instrument,
        "status": survey.status,
        "source": survey.source,
        "session": survey.session_id,
        "due_at": survey.due_at,
        "expires_at": survey.expires_at,
        "created_at": survey.created_at,
        "completed_at": survey.completed_at,
        "total_score": response.total_score if response is not None else None,
        "severity": response.severity if response is not None else None,
        "safety_item": instrument.safety_item,
        "safety_flag": response.safety_flag if response is not None else None,
        "items": items,
    }


def survey_by_token(*, raw_token: str) -> Survey | None:
    return (
        Survey.objects.select_related("clinic")
        .filter(token_hash=survey_token_hash(raw_token))
        .first()
    )


def _outcomes(patient: Patient) -> dict[str, Any]:
    """Per instrument: baseline (the last score before the first infusion; until there is one,
    the latest score), latest, response and remission (CLINICAL.md), and the history."""
    first_infusion = (
        InfusionSession.objects.filter(patient=patient, started_at__isnull=False)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    responses = list(
        SurveyResponse.objects.filter(survey__patient=patient)
        .select_related("survey")
        .order_by("completed_at")
    )
    outcomes: dict[str, Any] = {}
    for code in instruments.INSTRUMENTS:
        mine = [r for r in responses if r.survey.instrument == code]
        latest = mine[-1].total_score if mine else None
        if first_infusion is None:
            baseline = latest
        else:
            before = [r for r in mine if r.completed_at < first_infusion]
            baseline = before[-1].total_score if before else None
        response, remission = instruments.response_and_remission(baseline=baseline, latest=latest)
        outcomes[code] = {
            "baseline": baseline,
            "latest": latest,
            "response": response,
            "remission": remission,
            "scores": [
                {
                    "completed_at": r.completed_at,
                    "total_score": r.total_score,
                    "severity": r.severity,
                    "safety_flag": r.safety_flag,
                }
                for r in mine
            ],
        }
    return outcomes


def _outcomes_chart_data(patient: Patient) -> dict[str, Any]:
    outcomes = _outcomes(patient)
    series, bands, max_scores = {}, {}, {}
    for code, outcome in outcomes.items():
        instrument = instruments.get(code)
        series[instrument.name] = [
            charts.ScorePoint(
                at=score["completed_at"],
                total=score["total_score"],
                safety_flag=score["safety_flag"],
            )
            for score in outcome["scores"]
        ]
        bands[instrument.name] = [
            charts.SeverityBand(label=b.name.replace("_", " "), low=b.low, high=b.high)
            for b in instrument.bands
        ]
        max_scores[instrument.name] = instrument.max_score
    infusions = list(
        InfusionSession.objects.filter(patient=patient, started_at__isnull=False)
        .order_by("started_at")
        .values_list("started_at", flat=True)
    )
    return {
        "title": "PHQ-9 and GAD-7 over time",
        "series": series,
        "bands": bands,
        "max_scores": max_scores,
        "infusion_dates": infusions,
        "tz": patient.clinic.zone,
    }


def _patient_read(*, user: User, patient_id: object, what: str) -> Patient:
    patient = patient_get(user=user, patient_id=patient_id)
    audit_read(actor=user, object_type=what, object_id=patient.pk, patient=patient)
    return patient


def patient_outcomes(*, user: User, patient_id: object) -> dict[str, Any]:
    """The patient's PHQ-9 and GAD-7 outcomes, in the caller's scope; the read is audited."""
    return _outcomes(_patient_read(user=user, patient_id=patient_id, what="patient_outcomes"))


def patient_outcomes_chart_data(*, user: User, patient_id: object) -> dict[str, Any]:
    """What the outcomes chart draws, in the caller's scope; the read is audited."""
    patient = _patient_read(user=user, patient_id=patient_id, what="patient_outcomes_chart")
    return _outcomes_chart_data(patient)


def survey_require_open(survey: Survey | None, *, now: datetime) -> Survey:
    """The survey, if its link may still be answered; else the error the patient should see:
    404 unknown, 409 already answered, 410 expired."""
    if survey is None:
        raise NotFound()
    if survey.status == SurveyStatus.COMPLETED:
        raise Conflict(
            "already_completed",
            "This questionnaire has already been answered. Thank you.",
        )
    if survey.status == SurveyStatus.EXPIRED or survey.expires_at <= now:
        raise Gone(
            "expired",
            "This link has expired. Your clinic will send you a new one.",
        )
    return survey


def survey_open_by_token(*, raw_token: str) -> Survey:
    """The survey behind a patient's link, or the error the patient should see (404, 409, 410)."""
    return survey_require_open(survey_by_token(raw_token=raw_token), now=timezone.now())
