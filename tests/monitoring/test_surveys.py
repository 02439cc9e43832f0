"""Questionnaires (API.md "Questionnaires"): links, single use, expiry, scoring errors, the
item-9 safety path, system-created surveys, outcomes, and the patient's HTML page."""

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import Notification, Role
from monitoring.models import Alert, Survey, SurveyResponse
from monitoring.selectors import survey_token_hash
from monitoring.services import (
    survey_send,
    survey_submit,
    surveys_create_baselines,
    surveys_expire_overdue,
)
from scheduling.models import SessionStatus
from tests.factories import PatientFactory, SessionFactory

PHQ9_MILD = [1, 1, 1, 1, 1, 1, 1, 0, 0]  # total 7: mild
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def patient(clinic):
    return PatientFactory.create(clinic=clinic, first_name="Zelda", last_name="Quartermain")


@pytest.fixture
def clinician(make_user, clinic):
    return make_user(role=Role.CLINICIAN, clinics=[clinic], phone="+15550004444")


@pytest.fixture
def phq9(patient, clinician):
    survey, raw = survey_send(actor=clinician, patient=patient, instrument="phq9")
    return survey, raw


def public(raw: str) -> str:
    return f"/api/v1/public/surveys/{raw}/"


@pytest.mark.django_db
def test_staff_send_a_survey_and_get_its_link_once(api_as, patient) -> None:
    response = api_as("clinician").post(
        "/api/v1/surveys/", {"patient": patient.pk, "instrument": "gad7"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["instrument"] == "gad7"
    assert set(body) >= {"id", "patient", "instrument", "status", "url", "due_at", "expires_at"}
    token = body["url"].rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits, URL-safe base64
    survey = Survey.objects.get(pk=body["id"])
    assert survey.token_hash == survey_token_hash(token) and token not in survey.token_hash
    assert datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(
        body["due_at"]
    ) == timedelta(days=7)
    listed = api_as("clinician").get(f"/api/v1/surveys/?patient={patient.pk}").json()["results"]
    assert [s["id"] for s in listed] == [body["id"]] and "url" not in listed[0]


@pytest.mark.django_db
def test_the_link_and_one_reminder_go_to_the_outbox(phq9, patient) -> None:
    survey, raw = phq9
    messages = Notification.objects.filter(survey=survey.pk).order_by("scheduled_for")
    assert [(m.kind, m.channel, m.recipient) for m in messages] == [
        ("survey_link", "sms", patient.phone),
        ("survey_reminder", "sms", patient.phone),
    ]
    assert messages[1].scheduled_for - messages[0].scheduled_for == timedelta(hours=24)
    assert all(f"/s/{raw}/" in m.body for m in messages)
    assert all(patient.last_name not in m.body for m in messages)


@pytest.mark.django_db
def test_a_patient_answers_through_the_json_twin(phq9) -> None:
    survey, raw = phq9
    page = APIClient().get(public(raw))
    assert page.status_code == 200
    body = page.json()
    assert body["instrument"]["code"] == "phq9" and len(body["instrument"]["items"]) == 10
    assert "Quartermain" not in page.content.decode()
    response = APIClient().post(public(raw), {"answers": PHQ9_MILD}, format="json")
    assert response.status_code == 201
    assert response.json() == {"total_score": 7, "severity": "mild"}
    again = APIClient().post(public(raw), {"answers": PHQ9_MILD}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_completed"
    assert APIClient().get(public(raw)).status_code == 409
    # Completed: the reminder will not go out.
    assert Notification.objects.get(survey=survey.pk, kind="survey_reminder").status == "cancelled"


@pytest.mark.django_db
def test_phq9_takes_the_unscored_tenth_answer(phq9) -> None:
    _, raw = phq9
    response = APIClient().post(public(raw), {"answers": [*PHQ9_MILD, 3]}, format="json")
    assert response.status_code == 201 and response.json()["total_score"] == 7


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answers",
    [
        [1] * 8,
        [1] * 11,
        [1, 1, 1, 1, 1, 1, 1, 1, 4],
        [1, 1, 1, 1, 1, 1, 1, 1, -1],
        ["1", 1, 1, 1, 1, 1, 1, 1, 1],
        [1.5, 1, 1, 1, 1, 1, 1, 1, 1],
        [True, 1, 1, 1, 1, 1, 1, 1, 1],
        [None, 1, 1, 1, 1, 1, 1, 1, 1],
        "111111111",
        None,
    ],
)
def test_bad_answers_are_400_and_nothing_is_stored(phq9, answers) -> None:
    survey, raw = phq9
    response = APIClient().post(public(raw), {"answers": answers}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid" and "answers" in response.json()["fields"]
    survey.refresh_from_db()
    assert survey.status == "pending" and not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_an_unknown_or_guessed_token_is_404(phq9) -> None:
    _, raw = phq9
    for guess in ("x" * 43, raw[:-1] + ("A" if raw[-1] != "A" else "B"), "a"):
        assert APIClient().get(public(guess)).status_code == 404
        assert (
            APIClient().post(public(guess), {"answers": PHQ9_MILD}, format="json").status_code
            == 404
        )


@pytest.mark.django_db
def test_an_expired_link_is_410_and_the_job_expires_it(phq9) -> None:
    survey, raw = phq9
    with time_machine.travel(survey.expires_at + timedelta(seconds=1)):
        response = APIClient().post(public(raw), {"answers": PHQ9_MILD}, format="json")
        assert response.status_code == 410 and response.json()["code"] == "expired"
        assert APIClient().get(f"/s/{raw}/").status_code == 410
        assert surveys_expire_overdue() == 1
        assert surveys_expire_overdue() == 0
    survey.refresh_from_db()
    assert survey.status == "expired"
    assert set(Notification.objects.filter(survey=survey.pk).values_list("status", flat=True)) == {
        "cancelled"
    }


@pytest.mark.django_db(transaction=True)
def test_two_submits_racing_one_wins(clinic, make_user) -> None:
    patient = PatientFactory.create(clinic=clinic)
    _, raw = survey_send(
        actor=make_user(role=Role.CLINICIAN, clinics=[clinic]), patient=patient, instrument="gad7"
    )
    barrier = threading.Barrier(5)
    outcomes: list[int] = []

    def submit() -> None:
        try:
            barrier.wait()
            outcomes.append(
                APIClient().post(public(raw), {"answers": [2] * 7}, format="json").status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == {201: 1, 409: 4}
    assert SurveyResponse.objects.count() == 1


@pytest.mark.django_db
def test_item_9_raises_a_critical_alert_pages_the_clinicians_and_shows_crisis_resources(
    phq9, clinician, patient
) -> None:
    _, raw = phq9
    answers = [0, 0, 0, 0, 0, 0, 0, 0, 1]
    response = APIClient().post(public(raw), {"answers": answers}, format="json")
    assert response.status_code == 201
    assert "988" in response.json()["crisis_text"]
    alert = Alert.objects.get(parameter="phq9_item9")
    assert (alert.severity, alert.status, alert.patient_id) == ("critical", "open", patient.pk)
    page = Notification.objects.get(kind="alert", recipient_user=clinician)
    assert page.urgent and page.status == "pending"


@pytest.mark.django_db
def test_item_9_not_at_all_raises_nothing(phq9) -> None:
    _, raw = phq9
    body = (
        APIClient()
        .post(public(raw), {"answers": [3, 3, 3, 3, 3, 3, 3, 3, 0]}, format="json")
        .json()
    )
    assert body == {"total_score": 24, "severity": "severe"}
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_public_endpoints_are_rate_limited_per_address(phq9, settings) -> None:
    settings.PUBLIC_SURVEY_RATE_PER_MINUTE = 3
    _, raw = phq9
    client = APIClient()
    statuses = [client.get(public(raw), REMOTE_ADDR="10.3.3.3").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get(public(raw), REMOTE_ADDR="10.3.3.4").status_code == 200
    assert client.get(f"/s/{raw}/", REMOTE_ADDR="10.3.3.3").status_code == 429


# --- System-created surveys ----------------------------------------------------------------------


@pytest.mark.django_db
def test_booking_a_first_session_brings_a_baseline_phq9_and_gad7(clinic, patient) -> None:
    SessionFactory.create(patient=patient)
    assert surveys_create_baselines() == 2
    assert surveys_create_baselines() == 0
    assert sorted(Survey.objects.filter(patient=patient).values_list("instrument", "source")) == [
        ("gad7", "baseline"),
        ("phq9", "baseline"),
    ]
    started = PatientFactory.create(clinic=clinic)
    SessionFactory.create(patient=started, started_at=timezone.now(), status=SessionStatus.RECOVERY)
    SessionFactory.create(patient=started, starts_at=timezone.now() + timedelta(days=9))
    assert surveys_create_baselines() == 0  # had an infusion already: no baseline any more


@pytest.mark.django_db
def test_discharge_brings_follow_ups_the_next_day_at_10(clinic, patient, make_user) -> None:
    from monitoring.services import followups_create

    session = SessionFactory.create(patient=patient)
    moment = datetime(2030, 1, 7, 15, 0, tzinfo=NEW_YORK)
    with time_machine.travel(moment, tick=False):
        followups_create(session)
        followups_create(session)  # twice changes nothing
    follow_ups = Survey.objects.filter(session=session, source="follow_up")
    assert sorted(follow_ups.values_list("instrument", flat=True)) == ["gad7", "phq9"]
    assert {s.due_at for s in follow_ups} == {datetime(2030, 1, 8, 10, 0, tzinfo=NEW_YORK)}


# --- Outcomes ------------------------------------------------------------------------------------


def _answered(patient, clinician, instrument: str, answers: list[int], when: datetime) -> None:
    with time_machine.travel(when, tick=False):
        _, raw = survey_send(actor=clinician, patient=patient, instrument=instrument)
        survey_submit(raw_token=raw, answers=answers)


@pytest.mark.django_db
def test_outcomes_before_any_infusion_use_the_latest_as_baseline(
    api_as, patient, clinician
) -> None:
    _answered(patient, clinician, "phq9", [2] * 9, timezone.now() - timedelta(days=3))
    body = api_as("clinician").get(f"/api/v1/patients/{patient.pk}/outcomes/").json()
    assert body["phq9"]["baseline"] == 18 and body["phq9"]["latest"] == 18
    assert body["phq9"]["response"] is False and body["phq9"]["remission"] is False
    assert body["gad7"] == {
        "baseline": None,
        "latest": None,
        "response": None,
        "remission": None,
        "scores": [],
    }


@pytest.mark.django_db
def test_outcomes_response_and_remission_after_infusions(api_as, patient, clinician) -> None:
    now = timezone.now()
    _answered(patient, clinician, "phq9", [3] * 9, now - timedelta(days=30))  # 27, older
    _answered(patient, clinician, "phq9", [2] * 9, now - timedelta(days=20))  # 18: the baseline
    SessionFactory.create(
        patient=patient, started_at=now - timedelta(days=19), status=SessionStatus.DISCHARGED
    )
    _answered(patient, clinician, "phq9", [1] * 9, now - timedelta(days=10))  # 9
    _answered(patient, clinician, "phq9", [1, 1, 1, 1, 0, 0, 0, 0, 0], now - timedelta(days=1))  # 4
    body = api_as("clinician").get(f"/api/v1/patients/{patient.pk}/outcomes/").json()["phq9"]
    assert (body["baseline"], body["latest"]) == (18, 4)
    assert body["response"] is True and body["remission"] is True
    assert [s["total_score"] for s in body["scores"]] == [27, 18, 9, 4]
    assert [s["severity"] for s in body["scores"]] == [
        "severe",
        "moderately_severe",
        "mild",
        "minimal",
    ]
    chart = api_as("clinician").get(f"/api/v1/patients/{patient.pk}/outcomes.svg")
    assert chart.status_code == 200 and chart["Content-Type"] == "image/svg+xml"
    assert b"PHQ-9" in chart.content and b"GAD-7" in chart.content


@pytest.mark.django_db
def test_another_clinics_clinician_gets_404(api_as, patient, other_clinic, phq9) -> None:
    stranger = api_as("clinician", clinics=[other_clinic])
    assert stranger.get(f"/api/v1/patients/{patient.pk}/outcomes/").status_code == 404
    assert stranger.get(f"/api/v1/patients/{patient.pk}/outcomes.svg").status_code == 404
    assert stranger.get(f"/api/v1/surveys/?patient={patient.pk}").json()["results"] == []
    response = stranger.post(
        "/api/v1/surveys/", {"patient": patient.pk, "instrument": "phq9"}, format="json"
    )
    assert response.status_code == 400 and "patient" in response.json()["fields"]


@pytest.mark.django_db
def test_the_instruments_are_listed_with_items_and_options(api_as) -> None:
    body = api_as("nurse").get("/api/v1/instruments/").json()["results"]
    by_code = {i["code"]: i for i in body}
    assert set(by_code) == {"phq9", "gad7"}
    assert by_code["phq9"]["items"][8]["loinc"] == "44260-8"
    assert [o["text"] for o in by_code["gad7"]["items"][0]["options"]] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]


# --- The HTML page -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_the_clinic_and_the_questions_but_nothing_about_the_patient(
    client, phq9, patient
) -> None:
    _, raw = phq9
    page = client.get(f"/s/{raw}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert patient.clinic.name in html and "Little interest or pleasure in doing things" in html
    assert (
        patient.last_name not in html
        and patient.first_name not in html
        and patient.phone not in html
    )
    assert "default-src 'none'" in page["Content-Security-Policy"]
    assert 'name="item_9"' in html and '<label class="option">' in html


@pytest.mark.django_db
def test_the_form_keeps_answers_and_names_what_is_missing(client, phq9) -> None:
    _, raw = phq9
    partial = {f"item_{n}": "1" for n in range(1, 9)}  # item 9 left out
    page = client.post(f"/s/{raw}/", partial)
    assert page.status_code == 400
    html = page.content.decode()
    assert 'id="e9"' in html and html.count(" checked required>") == 8
    done = client.post(f"/s/{raw}/", {**partial, "item_9": "0"})
    assert (
        done.status_code == 200
        and b"Thank you" in done.content
        and b'id="crisis"' not in done.content
    )
    assert client.get(f"/s/{raw}/").status_code == 409
    assert client.get("/s/not-a-real-token/").status_code == 404
