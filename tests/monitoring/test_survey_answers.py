"""A clinician reads a survey's answers item by item (GET /api/v1/surveys/{id}/), and the
outcomes chart marks a PHQ-9 score whose item 9 was answered (issue 13, point 11)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import AuditEvent, Clinic, Patient, Role, User
from monitoring.instruments import GAD7, PHQ9
from monitoring.models import Survey
from monitoring.services import survey_send, survey_submit
from tests.factories import PatientFactory

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def patient(clinic: Clinic) -> Patient:
    return PatientFactory.create(clinic=clinic)


@pytest.fixture
def sender(make_user: Any, clinic: Clinic) -> User:
    user: User = make_user(role=Role.CLINICIAN, clinics=[clinic], phone="+15550004444")
    return user


def answered(
    patient: Patient, sender: User, instrument: str, answers: list[int], **travel: Any
) -> Survey:
    when = timezone.now() - timedelta(**travel) if travel else timezone.now()
    with time_machine.travel(when, tick=False):
        survey, raw = survey_send(actor=sender, patient=patient, instrument=instrument)
        survey_submit(raw_token=raw, answers=answers)
    survey.refresh_from_db()
    return survey


@pytest.mark.django_db
def test_a_clinician_reads_the_answers_item_by_item(api_as, patient, sender) -> None:
    answers = [3, 2, 1, 0, 1, 2, 3, 0, 1, 2]  # item 9 answered 1; item 10 (unscored) 2
    survey = answered(patient, sender, "phq9", answers)

    response = api_as("clinician").get(f"/api/v1/surveys/{survey.pk}/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["patient"], body["instrument"], body["status"]) == (
        survey.pk,
        patient.pk,
        "phq9",
        "completed",
    )
    assert (body["total_score"], body["severity"]) == (13, "moderate")
    assert body["safety_item"] == 9 and body["safety_flag"] is True
    assert [item["number"] for item in body["items"]] == list(range(1, 11))
    first, ninth, tenth = body["items"][0], body["items"][8], body["items"][9]
    assert first == {
        "number": 1,
        "text": "Little interest or pleasure in doing things",
        "loinc": "44250-9",
        "scored": True,
        "answer": 3,
        "answer_text": "Nearly every day",
    }
    assert (ninth["loinc"], ninth["answer"], ninth["answer_text"]) == (
        "44260-8",
        1,
        "Several days",
    )
    assert ninth["text"] == PHQ9.items[8].text
    assert (tenth["scored"], tenth["answer"], tenth["answer_text"]) == (
        False,
        2,
        "Very difficult",
    )


@pytest.mark.django_db
def test_an_optional_item_left_out_and_an_unanswered_survey_read_as_null(
    api_as, patient, sender
) -> None:
    nine = answered(patient, sender, "phq9", [0] * 9)
    pending, _ = survey_send(actor=sender, patient=patient, instrument="gad7")
    clinician = api_as("clinician")

    body = clinician.get(f"/api/v1/surveys/{nine.pk}/").json()
    assert body["safety_flag"] is False and body["total_score"] == 0
    assert (body["items"][9]["answer"], body["items"][9]["answer_text"]) == (None, None)

    body = clinician.get(f"/api/v1/surveys/{pending.pk}/").json()
    assert body["status"] == "pending" and body["completed_at"] is None
    assert (body["total_score"], body["severity"], body["safety_flag"]) == (None, None, None)
    assert body["safety_item"] is None  # GAD-7 has none
    assert [(item["number"], item["loinc"]) for item in body["items"]] == [
        (item.number, item.loinc) for item in GAD7.items
    ]
    assert {item["answer"] for item in body["items"]} == {None}


@pytest.mark.django_db
def test_the_read_is_audited_in_one_query_each(api_as, patient, sender) -> None:
    survey = answered(patient, sender, "phq9", [1] * 9)
    clinician = api_as("clinician")
    clinician.get("/api/v1/instruments/")  # the token's first use writes its last_used_at

    with CaptureQueriesContext(connection) as captured:
        assert clinician.get(f"/api/v1/surveys/{survey.pk}/").status_code == 200
    # The token with its user, the survey with its response, the audit event.
    assert len(captured) == 3
    event = AuditEvent.objects.filter(object_type="survey", action="read").get()
    assert (event.action, event.object_id, event.patient_id, event.actor_id) == (
        "read",
        str(survey.pk),
        patient.pk,
        clinician.user.pk,
    )


@pytest.mark.django_db
def test_only_a_clinician_of_the_surveys_clinic_may_read_it(
    api_as, patient, sender, other_clinic
) -> None:
    survey = answered(patient, sender, "phq9", [1] * 9)
    url = f"/api/v1/surveys/{survey.pk}/"

    for role in ("admin", "scheduler", "nurse"):
        refused = api_as(role).get(url)
        assert refused.status_code == 403, role
        assert refused.json()["code"] == "permission_denied"
    stranger = api_as("clinician", clinics=[other_clinic])
    assert stranger.get(url).json() == {"code": "not_found", "message": "Not found."}
    assert stranger.get(url).status_code == 404
    assert api_as("nurse", clinics=[other_clinic]).get(url).status_code == 404  # scope first
    assert api_as("clinician").get("/api/v1/surveys/999999/").status_code == 404
    assert not AuditEvent.objects.filter(object_type="survey", action="read").exists()  # no trace


# --- The outcomes chart --------------------------------------------------------------------------


def element_ids(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input
    return [element.get("id", "") for element in root.iter()]


def markers(svg: bytes, element_id: str) -> int:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    [element] = [e for e in root.iter() if e.get("id") == element_id]
    return len(list(element.iter(f"{SVG}use")))


def texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


@pytest.mark.django_db
def test_the_outcomes_chart_marks_a_score_whose_item_9_was_answered(
    api_as, patient, sender
) -> None:
    answered(patient, sender, "phq9", [2] * 8 + [0], days=20)  # 16, item 9 unanswered (0)
    answered(patient, sender, "phq9", [2] * 8 + [1], days=10)  # 17, item 9 answered 1
    answered(patient, sender, "phq9", [1] * 8 + [2], days=1)  # 10, item 9 answered 2
    answered(patient, sender, "gad7", [3] * 7, days=1)
    chart = api_as("clinician").get(f"/api/v1/patients/{patient.pk}/outcomes.svg")
    assert chart.status_code == 200

    assert markers(chart.content, "score-phq-9") == 3
    assert markers(chart.content, "safety-phq-9") == 2  # the two scores with item 9 answered
    assert "safety-gad-7" not in element_ids(chart.content)
    assert texts(chart.content).count("PHQ-9 item 9 ≥ 1 (thoughts of self-harm)") == 1  # legend


@pytest.mark.django_db
def test_no_mark_and_no_legend_entry_without_an_item_9_answer(api_as, patient, sender) -> None:
    answered(patient, sender, "phq9", [2] * 8 + [0], days=3)
    chart = api_as("clinician").get(f"/api/v1/patients/{patient.pk}/outcomes.svg").content

    assert markers(chart, "score-phq-9") == 1
    assert "safety-phq-9" not in element_ids(chart)
    assert not any("item 9" in text for text in texts(chart))
