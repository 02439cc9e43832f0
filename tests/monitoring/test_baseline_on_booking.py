"""Issue 13 point 9: the baseline questionnaires exist from the moment the first session is
booked (a patient checked in 14 s after booking used to get none); the sweep stays as the
safety net and also covers a first session already checked in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.models import Notification
from monitoring.models import Survey
from monitoring.services import surveys_create_baselines
from scheduling.models import SessionStatus
from tests.conftest import book_session
from tests.factories import (
    ChairFactory,
    PatientFactory,
    ProtocolFactory,
    SessionFactory,
    next_weekday_at,
)


@pytest.fixture
def monday_9am():
    return next_weekday_at(9)


@pytest.mark.django_db
def test_the_first_booking_creates_the_baseline_at_once(api_as, clinic, monday_9am) -> None:
    patient = PatientFactory.create(
        clinic=clinic, email="pat@example.com", preferred_channel="email"
    )
    chair, protocol = ChairFactory.create(clinic=clinic), ProtocolFactory.create(clinic=clinic)
    scheduler = api_as("scheduler")
    assert book_session(scheduler, patient, protocol, chair, monday_9am).status_code == 201
    baseline = Survey.objects.filter(patient=patient, source="baseline")
    assert sorted(baseline.values_list("instrument", flat=True)) == ["gad7", "phq9"]
    assert Notification.objects.filter(patient=patient, kind="survey_link").count() == 2
    two_days_later = monday_9am + timedelta(days=2)
    assert book_session(scheduler, patient, protocol, chair, two_days_later).status_code == 201
    assert baseline.count() == 2  # one baseline per patient, not per booking
    assert surveys_create_baselines() == 0  # nothing left for the sweep


@pytest.mark.django_db
def test_no_baseline_once_an_infusion_has_started_or_when_the_clinic_turns_it_off(
    api_as, clinic, monday_9am
) -> None:
    treated = PatientFactory.create(clinic=clinic)
    SessionFactory.create(
        patient=treated,
        starts_at=timezone.now() - timedelta(days=7),
        status=SessionStatus.DISCHARGED,
        started_at=timezone.now() - timedelta(days=7),
    )
    chair, protocol = ChairFactory.create(clinic=clinic), ProtocolFactory.create(clinic=clinic)
    scheduler = api_as("scheduler")
    assert book_session(scheduler, treated, protocol, chair, monday_9am).status_code == 201
    assert not Survey.objects.filter(patient=treated).exists()
    clinic.survey_baseline_enabled = False
    clinic.save()
    fresh = PatientFactory.create(clinic=clinic)
    next_day = monday_9am + timedelta(days=1)
    assert book_session(scheduler, fresh, protocol, chair, next_day).status_code == 201
    assert not Survey.objects.filter(patient=fresh).exists()


@pytest.mark.django_db
def test_the_sweep_also_covers_a_first_session_already_checked_in(clinic) -> None:
    patient = PatientFactory.create(clinic=clinic)
    SessionFactory.create(patient=patient, status=SessionStatus.CHECKED_IN)
    assert surveys_create_baselines() == 2
    assert Survey.objects.filter(patient=patient, source="baseline").count() == 2
    assert surveys_create_baselines() == 0
