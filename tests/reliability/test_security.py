"""Hardening (issue 6): security headers and Content-Security-Policy on the HTML pages, HSTS and
secure cookies in production settings, CORS closed unless configured, survey tokens that open
one survey and nothing else, and no personal data in URLs, logs or Celery task arguments."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
import pytest
from celery.signals import before_task_publish
from django.core.checks import run_checks
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import Notification, Role
from clinic.services import auth_login
from clinic.tasks import notifications_deliver_due
from monitoring.models import Survey
from monitoring.selectors import survey_token_hash
from monitoring.services import survey_send, vital_readings_flag
from tests.conftest import client_for, wait_for
from tests.factories import TEST_PASSWORD, PatientFactory, SessionFactory, UserFactory, reading
from tests.test_project import PRODUCTION_ENV, manage

from .faults import Gunicorn

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@pytest.fixture
def clinician(make_user, clinic):
    return make_user(role=Role.CLINICIAN, clinics=[clinic], phone="+15550004444")


# --- Headers on the HTML pages ------------------------------------------------------------------


def html_pages(clinic, clinician) -> dict[str, str]:
    _, raw = survey_send(
        actor=clinician, patient=PatientFactory.create(clinic=clinic), instrument="phq9"
    )
    return {"survey": f"/s/{raw}/", "admin": "/admin/login/", "docs": "/api/docs/"}


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["survey", "admin", "docs"])
def test_html_pages_carry_security_headers_and_a_csp_without_inline_script(
    page, client, clinic, clinician
) -> None:
    response = client.get(html_pages(clinic, clinician)[page])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy: dict[str, str] = {}
    for directive in response["Content-Security-Policy"].split(";"):
        name, value = directive.strip().split(" ", 1)
        policy[name] = value
    scripts = policy.get("script-src", policy["default-src"])
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert policy["frame-ancestors"] == "'none'"
    if page == "survey":
        # No script at all; never cached.
        assert policy["default-src"] == "'none'" and "script-src" not in policy
        assert "no-store" in response["Cache-Control"]
    # The survey page's URL holds its token: no Referer ever leaves for another site. (Not
    # no-referrer: Chromium then sends "Origin: null" with the form, which CSRF refuses.)
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_docs_page_has_no_inline_script_and_its_script_is_served(client) -> None:
    page = client.get("/api/docs/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "an inline <script> block"
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


def test_production_settings_send_hsts_and_secure_cookies() -> None:
    code = (
        "from django.conf import settings as s; import json; print(json.dumps(["
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.DEBUG, s.CORS_ALLOWED_ORIGINS]))"
    )
    result = manage("shell", "-c", code, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        True,
        31_536_000,
        True,
        True,
        True,
        True,
        True,
        False,
        [],
    ]


@pytest.mark.django_db
def test_https_responses_carry_hsts_and_plain_http_is_redirected(client, settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    plain = client.get("/api/v1/instruments/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = client.get("/api/v1/instruments/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert client.get("/healthz").status_code == 200  # probes inside the cluster stay on HTTP


# --- CORS ---------------------------------------------------------------------------------------


def preflight(origin: str) -> Any:
    return APIClient().options(
        "/api/v1/sessions/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


@pytest.mark.django_db
def test_cors_is_closed_unless_origins_are_configured(settings) -> None:
    assert "access-control-allow-origin" not in preflight("https://evil.example").headers
    settings.CORS_ALLOWED_ORIGINS = ["https://tablets.clinic.example"]
    allowed = preflight("https://tablets.clinic.example")
    assert allowed["Access-Control-Allow-Origin"] == "https://tablets.clinic.example"
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    assert "access-control-allow-credentials" not in allowed.headers
    assert "access-control-allow-origin" not in preflight("https://evil.example").headers


# --- Settings that only hold together -----------------------------------------------------------


def test_a_claim_shorter_than_a_task_may_run_fails_the_system_check(settings) -> None:
    assert not [e for e in run_checks() if e.id == "clinic.E001"]
    settings.NOTIFICATION_CLAIM_SECONDS = settings.CELERY_TASK_TIME_LIMIT
    assert [e.id for e in run_checks() if e.id == "clinic.E001"] == ["clinic.E001"]


# --- Survey tokens ------------------------------------------------------------------------------


def public(raw: str) -> str:
    return f"/api/v1/public/surveys/{raw}/"


@pytest.mark.django_db
def test_a_token_opens_its_own_survey_and_no_other(clinic, other_clinic, clinician, settings):
    first = PatientFactory.create(clinic=clinic, last_name="Abernathy")
    second = PatientFactory.create(clinic=other_clinic, last_name="Brightwater")
    survey_a, raw_a = survey_send(actor=clinician, patient=first, instrument="phq9")
    other_clinician = UserFactory.create(role=Role.CLINICIAN, clinics=[other_clinic])
    survey_b, raw_b = survey_send(actor=other_clinician, patient=second, instrument="gad7")
    # The links are the public address and a 256-bit token: nothing about the patient.
    for survey, raw in ((survey_a, raw_a), (survey_b, raw_b)):
        assert TOKEN.match(raw)
        for message in Notification.objects.filter(survey=survey.pk):
            link = re.search(r"https?://\S+", message.body)
            assert link and link.group(0) == f"{settings.PUBLIC_BASE_URL}/s/{raw}/"
    # A's token shows A's questionnaire and answers A's survey; B's stays untouched.
    assert APIClient().get(public(raw_a)).json()["instrument"]["code"] == "phq9"
    answered = APIClient().post(public(raw_a), {"answers": [1] * 9}, format="json")
    assert answered.status_code == 201
    assert Survey.objects.get(pk=survey_b.pk).status == "pending"
    # A's token cannot answer B's questionnaire (GAD-7 takes 7 answers): it is A's, used up.
    assert APIClient().post(public(raw_a), {"answers": [1] * 7}, format="json").status_code == 409
    # What is stored is the token's hash, not the token.
    assert Survey.objects.get(pk=survey_a.pk).token_hash == survey_token_hash(raw_a) != raw_a
    # Patients signed in with the API cannot list anyone's surveys or see another's outcomes.
    first.user = UserFactory.create(role=Role.PATIENT)
    first.save(update_fields=["user"])
    as_patient = client_for(first.user)
    assert as_patient.get("/api/v1/surveys/").status_code == 403
    assert as_patient.get(f"/api/v1/patients/{second.pk}/outcomes/").status_code == 404


def test_no_url_carries_anything_but_ids_and_the_survey_token() -> None:
    """Every path parameter in the URL configuration is a numeric id, except the survey token:
    names, birth dates and phone numbers can only travel in bodies (and in filtered queries,
    which the access log leaves out, see below)."""
    parameters: set[str] = set()

    def walk(patterns: Any) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                parameters.update(re.findall(r"<([^>]+)>", str(pattern.pattern)))

    walk(get_resolver().url_patterns)
    non_ids = {p for p in parameters if not p.startswith("int:")}
    # Django admin's own URLs take ids as strings; they are behind staff login.
    admin = {"path:object_id", "path:content_type_id", "id", "app_label", "url"}
    assert non_ids - admin == {"str:token"}, non_ids


# --- No personal data in logs or in Celery task arguments ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_no_personal_data_in_logs_or_task_arguments(
    celery_worker, caplog, clinic, make_user
) -> None:
    """A whole day at the chair, end to end through gunicorn and the real worker: a patient
    searched for by name, booked, checked in, a critical reading, a survey sent and answered
    with item 9 positive, pages delivered. Then every log line (the web server's access log and
    its application log, this process's, the worker's) and every task message published is
    searched for the patient's name, birth date, phone and e-mail."""
    caplog.set_level(logging.DEBUG)
    published: list[str] = []

    def record(sender: Any = None, body: Any = None, headers: Any = None, **kwargs: Any) -> None:
        published.append(json.dumps([sender, body, headers], default=str))

    before_task_publish.connect(record, weak=False)
    nurse = make_user(role=Role.NURSE, clinics=[clinic], phone="+15550002222")
    clinician = make_user(role=Role.CLINICIAN, clinics=[clinic], phone="+15550003333")
    patient = PatientFactory.create(
        clinic=clinic,
        first_name="Philippa",
        last_name="Quillfeather",
        phone="+15557654321",
        email="p.quillfeather@example.org",
    )
    personal = ["Philippa", "Quillfeather", "+15557654321", "5557654321", "quillfeather@"]
    personal.append(patient.date_of_birth.isoformat())
    web = Gunicorn(application_name="privacy-web")
    try:
        staff = httpx.Client(
            base_url=web.url, headers={"Authorization": bearer(clinician)}, timeout=10
        )
        found = staff.get("/api/v1/patients/", params={"search": "Quillfeather"})
        assert [p["id"] for p in found.json()["results"]] == [patient.pk]
        assert staff.get(f"/api/v1/patients/{patient.pk}/").json()["last_name"] == "Quillfeather"
        session = SessionFactory.create(
            patient=patient, nurse=nurse, status="checked_in", checked_in_at=timezone.now()
        )
        taken = reading(systolic=191)
        at_chair = httpx.Client(
            base_url=web.url, headers={"Authorization": bearer(nurse)}, timeout=10
        )
        assert (
            at_chair.post(f"/api/v1/sessions/{session.pk}/vitals/", json=taken).status_code == 201
        )
        link = staff.post("/api/v1/surveys/", json={"patient": patient.pk, "instrument": "phq9"})
        raw = link.json()["url"].rstrip("/").rsplit("/", 1)[1]
        answered = httpx.post(
            f"{web.url}/api/v1/public/surveys/{raw}/", json={"answers": [0] * 8 + [3]}
        )
        assert answered.status_code == 201
        assert httpx.get(f"{web.url}/s/{raw}/").status_code == 409  # answered already
    finally:
        web.stop()
    # The web server had no broker. Here the flagging and the delivery sweep run in this
    # process (so that the messages they publish are captured), the deliveries in the worker.
    assert vital_readings_flag(reading_ids=[taken["id"]]) == 1
    assert notifications_deliver_due() >= 1
    wait_for(
        lambda: not Notification.objects.filter(kind="alert", status="pending").exists(),
        timeout=30,
    )
    before_task_publish.disconnect(record)

    assert sum("clinic.tasks.notification_deliver" in message for message in published) >= 3
    logs = {
        "web": "".join(web.lines),
        "this process": "\n".join(
            f"{record.name} {record.getMessage()}"
            for record in caplog.records
            if not record.name.startswith(("httpx", "httpcore"))  # the test's own HTTP client
        ),
        "worker": "".join(celery_worker.lines),
        "task messages": "\n".join(published),
    }
    assert '"GET /api/v1/patients/" 200' in logs["web"]  # the access log is there, query-less
    leaks = [(where, item) for where, text in logs.items() for item in personal if item in text]
    assert not leaks, leaks


def bearer(user) -> str:
    return f"Bearer {auth_login(username=user.username, password=TEST_PASSWORD).token}"
