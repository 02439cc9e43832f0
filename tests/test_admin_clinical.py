"""The Django admin shows sessions, readings, alerts, questionnaires and the outbox: read-only,
scoped to the admin's clinics, in the clinic's time zone, audited like the API; no creation
time is editable anywhere; a list page costs the same whatever its length."""

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db import connection
from django.db.models import DateTimeField, Model
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEvent, Clinic, ClinicClosure, Notification, Role, User
from monitoring.models import (
    AdverseEvent,
    Alert,
    AlertEscalation,
    InfusionStart,
    Survey,
    SurveyResponse,
    VitalReading,
)
from scheduling.models import InfusionSeries, InfusionSession, SessionStatus, SessionTransition
from tests.factories import TEST_PASSWORD, PatientFactory, ProtocolFactory, SessionFactory

# A Monday in winter: 14:00 UTC is 09:00 in New York (EST, UTC-5).
WINTER_2PM_UTC = datetime(2025, 1, 6, 14, 0, tzinfo=UTC)
NEW_YORK_9AM = "2025-01-06 09:00:00 America/New_York"

RECORD_MODELS: list[type[Model]] = [
    InfusionSession,
    InfusionSeries,
    SessionTransition,
    VitalReading,
    Alert,
    AlertEscalation,
    InfusionStart,
    AdverseEvent,
    Survey,
    SurveyResponse,
    Notification,
    ClinicClosure,
]
OUR_APPS = {"clinic", "scheduling", "monitoring"}


def records_of(clinic: Clinic, *, nurse: User, last_name: str) -> dict[type[Model], Model]:
    """One row of every record the admin shows read-only, about a new patient of `clinic`,
    their session starting at WINTER_2PM_UTC."""
    patient = PatientFactory.create(clinic=clinic, last_name=last_name, created_at=WINTER_2PM_UTC)
    protocol = ProtocolFactory.create(clinic=clinic)
    series = InfusionSeries.objects.create(patient=patient, protocol=protocol, created_by=nurse)
    session = SessionFactory.create(
        patient=patient,
        protocol=protocol,
        series=series,
        nurse=nurse,
        starts_at=WINTER_2PM_UTC,
        status=SessionStatus.DISCHARGED,
        booked_at=WINTER_2PM_UTC - timedelta(days=3),
    )
    transition = SessionTransition.objects.create(
        session=session, to_status="scheduled", action="book", actor=nurse, at=session.booked_at
    )
    reading = VitalReading.objects.create(
        session=session,
        taken_at=WINTER_2PM_UTC + timedelta(minutes=5),
        recorded_by=nurse,
        systolic=150,
        diastolic=90,
        heart_rate=72,
        spo2=98,
    )
    alert = Alert.objects.create(
        clinic=clinic,
        patient=patient,
        session=session,
        reading=reading,
        parameter="systolic",
        severity="warning",
        message="Systolic BP high",
        value="150",
        dedup_key=uuid.uuid4().hex,
    )
    escalation = AlertEscalation.objects.create(alert=alert, level=1)
    escalation.recipients.add(nurse)
    start = InfusionStart.objects.create(
        session=session,
        baseline_reading=reading,
        weight_kg=Decimal("70.0"),
        dose_mg_per_kg=Decimal("0.500"),
        dose_mg=Decimal("35.00"),
        started_by=nurse,
    )
    adverse_event = AdverseEvent.objects.create(
        session=session, kind="nausea", severity="mild", recorded_by=nurse
    )
    survey = Survey.objects.create(
        clinic=clinic,
        patient=patient,
        instrument="phq9",
        token_hash=uuid.uuid4().hex,
        status="completed",
        source="staff",
        due_at=WINTER_2PM_UTC,
        expires_at=WINTER_2PM_UTC + timedelta(days=7),
        completed_at=WINTER_2PM_UTC + timedelta(hours=1),
    )
    response = SurveyResponse.objects.create(
        survey=survey, answers=[0] * 9, total_score=0, severity="none"
    )
    notification = Notification.objects.create(
        clinic=clinic,
        patient=patient,
        channel="sms",
        recipient=patient.phone,
        kind="appointment_reminder",
        body="See you on Monday",
        dedup_key=uuid.uuid4().hex,
        scheduled_for=WINTER_2PM_UTC - timedelta(hours=2),
    )
    closure, _ = ClinicClosure.objects.get_or_create(
        clinic=clinic, date=date(2025, 12, 25), defaults={"reason": "Christmas"}
    )
    return {
        InfusionSession: session,
        InfusionSeries: series,
        SessionTransition: transition,
        VitalReading: reading,
        Alert: alert,
        AlertEscalation: escalation,
        InfusionStart: start,
        AdverseEvent: adverse_event,
        Survey: survey,
        SurveyResponse: response,
        Notification: notification,
        ClinicClosure: closure,
    }


def admin_url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def editable_inputs(page: str) -> list[str]:
    """The fields of a change page's form a user could edit (not the CSRF token)."""
    form = re.search(r'<form [^>]*id="\w+_form".*?</form>', page, re.DOTALL)
    assert form is not None
    return [
        tag
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", form.group())
        if 'type="hidden"' not in tag
    ]


def logged_in(user: User) -> Client:
    browser = Client()
    response = browser.post(
        "/admin/login/?next=/admin/", {"username": user.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    return browser


@pytest.fixture
def nurse(make_user, clinic) -> User:
    return make_user(role=Role.NURSE, clinics=[clinic])


@pytest.fixture
def clinic_admin(make_user, clinic) -> User:
    return make_user(role=Role.ADMIN, clinics=[clinic], is_staff=True)


@pytest.fixture
def superuser(make_user) -> User:
    return make_user(role=Role.ADMIN, is_superuser=True, is_staff=True)


@pytest.fixture(params=["clinic admin", "superuser"])
def viewer(request, clinic_admin, superuser) -> User:
    return clinic_admin if request.param == "clinic admin" else superuser


@pytest.fixture
def mine(clinic, nurse) -> dict[type[Model], Model]:
    return records_of(clinic, nurse=nurse, last_name="Mine")


@pytest.fixture
def theirs(make_user, other_clinic) -> dict[type[Model], Model]:
    their_nurse = make_user(role=Role.NURSE, clinics=[other_clinic])
    return records_of(other_clinic, nurse=their_nurse, last_name="Theirs")


@pytest.mark.django_db
def test_a_clinic_admin_finds_the_records_on_the_admin_index(clinic_admin) -> None:
    index = logged_in(clinic_admin).get("/admin/").content.decode()
    for model in RECORD_MODELS:
        assert admin_url(model, "changelist") in index


@pytest.mark.django_db
@pytest.mark.parametrize("model", RECORD_MODELS, ids=lambda model: model.__name__)
def test_record_pages_load_and_show_only_the_viewers_clinics(
    model, viewer, superuser, mine, theirs
) -> None:
    browser = logged_in(viewer)
    page = browser.get(admin_url(model, "changelist"))
    assert page.status_code == 200
    listed = page.content.decode()
    assert admin_url(model, "change", mine[model].pk) in listed
    assert browser.get(admin_url(model, "change", mine[model].pk)).status_code == 200
    their_page = browser.get(admin_url(model, "change", theirs[model].pk))
    if viewer == superuser:
        assert admin_url(model, "change", theirs[model].pk) in listed
        assert their_page.status_code == 200
    else:
        # Not listed, not even the other clinic's name in a filter; their page does not exist
        # (the admin sends the viewer back to its index).
        assert admin_url(model, "change", theirs[model].pk) not in listed
        assert "Theirs" not in listed and "Other Clinic" not in listed
        assert their_page.status_code == 302 and their_page["Location"] == "/admin/"


@pytest.mark.django_db
@pytest.mark.parametrize("model", RECORD_MODELS, ids=lambda model: model.__name__)
def test_records_cannot_be_added_changed_or_deleted_in_the_admin(model, viewer, mine) -> None:
    browser = logged_in(viewer)
    row = mine[model]
    assert browser.get(admin_url(model, "add")).status_code == 403
    assert browser.post(admin_url(model, "add"), {}).status_code == 403
    assert browser.post(admin_url(model, "change", row.pk), {}).status_code == 403
    assert browser.get(admin_url(model, "delete", row.pk)).status_code == 403
    assert browser.post(admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    listed = browser.get(admin_url(model, "changelist")).content.decode()
    assert admin_url(model, "add") not in listed
    assert 'name="action"' not in listed  # no bulk delete either
    shown = browser.get(admin_url(model, "change", row.pk)).content.decode()
    assert editable_inputs(shown) == []
    assert model._default_manager.filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_times_show_in_the_clinics_zone(clinic_admin, mine) -> None:
    browser = logged_in(clinic_admin)
    session = mine[InfusionSession]
    for url in (
        admin_url(InfusionSession, "changelist"),
        admin_url(InfusionSession, "change", session.pk),
        admin_url(InfusionSeries, "change", mine[InfusionSeries].pk),
        admin_url(Survey, "changelist"),
        "/admin/clinic/patient/",
    ):
        page = browser.get(url).content.decode()
        assert NEW_YORK_9AM in page, url
        assert "2 p.m." not in page and "14:00" not in page, url
    readings = browser.get(admin_url(VitalReading, "changelist")).content.decode()
    assert "2025-01-06 09:05:00 America/New_York" in readings
    outbox = browser.get(admin_url(Notification, "changelist")).content.decode()
    assert "2025-01-06 07:00:00 America/New_York" in outbox
    # The session's history is on its page, in the same zone (booked three days before).
    page = browser.get(admin_url(InfusionSession, "change", session.pk)).content.decode()
    assert "2025-01-03 09:00:00 America/New_York" in page and "book" in page
    assert '<div class="readonly">None</div>' not in page  # not checked in yet reads "-"


@pytest.mark.django_db
def test_summer_time_is_the_clinics_too(clinic_admin, clinic, nurse) -> None:
    summer = datetime(2025, 7, 7, 14, 0, tzinfo=UTC)  # 10:00 EDT
    session = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic), nurse=nurse, starts_at=summer
    )
    page = logged_in(clinic_admin).get(admin_url(InfusionSession, "change", session.pk))
    assert "2025-07-07 10:00:00 America/New_York" in page.content.decode()


def _created_at_fields(model: type[Model]) -> list[str]:
    """The model's creation times a form could edit: datetimes stamped `now` by default."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, DateTimeField)
        and field.editable
        and (field.auto_now_add or field.default is timezone.now)
    ]


@pytest.mark.django_db
def test_no_creation_time_is_an_editable_input_in_the_admin(viewer, mine) -> None:
    browser = logged_in(viewer)
    checked = set()
    for model, model_admin in admin.site._registry.items():
        names = _created_at_fields(model)
        if not names:
            continue
        assert model._meta.app_label in OUR_APPS, model  # another app's: check it here too
        row = model_admin.get_queryset(_request(viewer)).first()
        assert row is not None, f"no {model.__name__} to look at"
        pages = [admin_url(model, "change", row.pk), admin_url(model, "add")]
        for url in pages:
            response = browser.get(url)
            assert response.status_code in (200, 403), url
            html = response.content.decode()
            for name in names:
                assert f'name="{name}"' not in html, (url, name)
        checked.add(model)
    assert {Clinic, User, InfusionSession, VitalReading, Alert, Notification} <= checked


def _request(user: User) -> Any:
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
def test_no_admin_shows_a_raw_utc_datetime(viewer, mine) -> None:
    """Every datetime on a change page or a list goes through the clinic's zone (clinic_time):
    Django would show the raw field in UTC."""
    request = _request(viewer)
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        datetimes = {
            field.name for field in model._meta.concrete_fields if isinstance(field, DateTimeField)
        }
        row = model_admin.get_queryset(request).first()
        for obj in (row, None):
            shown = set(flatten_fieldsets(model_admin.get_fieldsets(request, obj)))
            assert not shown & datetimes, (model, shown & datetimes)
        listed = {c for c in model_admin.get_list_display(request) if isinstance(c, str)}
        assert not listed & datetimes, (model, listed & datetimes)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [InfusionSession, VitalReading, Alert, Survey, Notification, SurveyResponse, InfusionStart],
    ids=lambda model: model.__name__,
)
def test_a_list_page_costs_the_same_whatever_its_length(
    model, clinic_admin, clinic, nurse, mine
) -> None:
    browser = logged_in(clinic_admin)
    url = admin_url(model, "changelist")
    browser.get(url)  # warm up: content types, the session

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(url).status_code == 200
        return len(captured)

    few = queries()
    for n in range(4):
        records_of(clinic, nurse=nurse, last_name=f"More{n}")
    assert model._default_manager.count() >= 5
    assert queries() == few


@pytest.mark.django_db
def test_reading_records_in_the_admin_is_audited(clinic_admin, mine, theirs) -> None:
    browser = logged_in(clinic_admin)
    session = mine[InfusionSession]
    browser.get(admin_url(InfusionSession, "change", session.pk))
    assert AuditEvent.objects.filter(
        actor=clinic_admin,
        action="read",
        object_type="session",
        object_id=str(session.pk),
        patient=session.patient,
    ).exists()
    browser.get(admin_url(VitalReading, "changelist"))
    reading = mine[VitalReading]
    assert AuditEvent.objects.filter(
        action="read", object_type="vital_reading", object_id=str(reading.pk)
    ).exists()
    # Only what was shown: another clinic's rows leave nothing.
    assert not AuditEvent.objects.filter(
        actor=clinic_admin, patient=theirs[InfusionSession].patient
    ).exists()
    browser.get("/admin/clinic/patient/")
    assert AuditEvent.objects.filter(
        actor=clinic_admin, object_type="patient", patient=session.patient
    ).exists()


@pytest.mark.django_db
def test_the_outbox_page_does_not_show_a_messages_body(clinic_admin, mine) -> None:
    notification = mine[Notification]
    page = logged_in(clinic_admin).get(admin_url(Notification, "change", notification.pk))
    assert page.status_code == 200
    assert "See you on Monday" not in page.content.decode()  # a survey link's token, elsewhere


@pytest.mark.django_db
def test_a_protocol_added_in_the_admin_records_who_and_when(clinic_admin, clinic) -> None:
    browser = logged_in(clinic_admin)
    form = browser.get("/admin/clinic/protocol/add/").content.decode()
    assert 'name="created_at"' not in form and 'name="created_by"' not in form
    response = browser.post(
        "/admin/clinic/protocol/add/",
        {
            "clinic": clinic.pk,
            "name": "IV ketamine, admin",
            "route": "iv",
            "dose_mg_per_kg": "0.5",
            "infusion_minutes": 40,
            "prep_minutes": 15,
            "recovery_minutes": 30,
            "vitals_interval_minutes": 15,
            "thresholds": "{}",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    protocol = clinic.protocols.get(name="IV ketamine, admin")
    assert protocol.created_by == clinic_admin
