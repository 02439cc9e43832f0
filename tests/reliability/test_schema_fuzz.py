"""Schemathesis against the OpenAPI schema served at /api/schema/, as every role.

For each role, a caller of that role logs in (a real bearer token from the login service) and
every operation of the schema gets a bounded number of generated requests, valid and invalid
(schemathesis' positive and negative modes), sent in-process to the Django WSGI application.
Every response must be: no 5xx, a status code the schema documents for the operation, the
documented content type, and a body that validates against the documented schema.

The database is the real test database. Each role's test seeds a clinic the caller belongs to
(chairs, a protocol, patients, a session in each state from booked to in recovery, readings,
alerts, an adverse event, a pending questionnaire) and a second clinic the caller does not
belong to. Generated parameters named like an id (in the path, the query or the body) are
steered towards those rows four times in five, and a few values (times, answers, a time zone)
towards ones that pass validation, so that requests reach real objects in and out of the
caller's scope, and creates and transitions get past their serializers, as well as sending ids
that exist nowhere and values that are wrong.

Each request runs inside a savepoint that is rolled back afterwards, so every example starts
from the same seeded data: nothing accumulates, and logout (which revokes the caller's token)
is fuzzed like everything else without ending the run.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, connection
from django.urls import resolve
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic import services as clinic_services
from clinic.models import Chair, ClinicClosure, Patient, Protocol, Role, User
from monitoring import services as monitoring_services
from monitoring.models import AdverseEventKind, AdverseEventSeverity, Alert
from scheduling import services as scheduling_services
from scheduling.models import InfusionSeries, InfusionSession, SessionStatus
from tests.factories import (
    TEST_PASSWORD,
    ChairFactory,
    ClinicFactory,
    PatientFactory,
    ProtocolFactory,
    SessionFactory,
    UserFactory,
    next_weekday_at,
)

ROLES = [Role.ADMIN, Role.SCHEDULER, Role.NURSE, Role.CLINICIAN, Role.PATIENT]

# Generated requests per operation, for a role that may call it and for one refused before
# the request is even read (403, or 404 for another clinic's object). SCHEMA_FUZZ_EXAMPLES
# raises the first for a deeper run by hand (e.g. 200); `make test` keeps to the default.
EXAMPLES_ALLOWED = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "8"))
EXAMPLES_REFUSED = max(2, EXAMPLES_ALLOWED // 5)
# The schema has 48 operations; every one is exercised for every role.
MIN_OPERATIONS = 48

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# --- The application, in-process ---------------------------------------------------------------


@pytest.fixture(scope="module")
def wsgi_app() -> Iterator[WSGIHandler]:
    """The Django WSGI application, called in this thread: it shares the test's connection and
    so sees the test's uncommitted rows. Django closes "old" connections at the start and end of
    every request, which inside the test's transaction would poison it; its own test client
    disconnects that handler for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def api_schema(wsgi_app: WSGIHandler) -> Any:
    # The schema view neither authenticates nor reads the database.
    return schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)


@pytest.fixture
def server_errors() -> Iterator[list[str]]:
    """Tracebacks of exceptions the application turned into a 500, for the failure report."""
    captured: list[str] = []

    def record(sender: Any, **kwargs: Any) -> None:
        if sys.exc_info()[0] is not None:
            captured.append(traceback.format_exc())

    got_request_exception.connect(record)
    try:
        yield captured
    finally:
        got_request_exception.disconnect(record)


# --- Seeded data --------------------------------------------------------------------------------


@dataclass
class World:
    caller: User
    # Values to steer generated parameters to, by parameter name.
    references: dict[str, list[Any]] = field(default_factory=dict)


def _reading(taken_at: datetime, **values: Any) -> dict[str, Any]:
    """A reading as the vitals service takes it (the API serializer's validated data)."""
    normal: dict[str, Any] = {
        "id": uuid.uuid4(),
        "taken_at": taken_at,
        "systolic": 120,
        "diastolic": 80,
        "heart_rate": 72,
        "spo2": 98,
        "respiratory_rate": 14,
        "temperature_c": Decimal("36.8"),
        "consciousness": "alert",
        "on_oxygen": False,
        "device_id": "",
        "supersedes_id": None,
    }
    return {**normal, **values}


def _checked_in(
    patient: Patient, chair: Chair, protocol: Protocol, nurse: User, starts_at: datetime
) -> InfusionSession:
    session: InfusionSession = SessionFactory.create(
        patient=patient,
        chair=chair,
        protocol=protocol,
        nurse=nurse,
        starts_at=starts_at,
        status=SessionStatus.CHECKED_IN,
        checked_in_at=starts_at - timedelta(minutes=15),
        fasting_confirmed=True,
        escort_confirmed=True,
        weight_kg=Decimal("71.5"),
    )
    baseline = _reading(starts_at - timedelta(minutes=10))
    monitoring_services.vital_readings_record(
        actor=nurse, session_id=session.pk, readings=[baseline]
    )
    return session


def seed(role: str) -> World:
    """A clinic of the caller's with a session in every state the lifecycle passes through and
    something in every table the API shows; a clinic of someone else's."""
    now = timezone.now()
    home = ClinicFactory.create(name="Home Clinic")
    away = ClinicFactory.create(name="Other Clinic")
    nurse = UserFactory.create(role=Role.NURSE, clinics=[home], phone="+15550002222")
    clinician = UserFactory.create(role=Role.CLINICIAN, clinics=[home], phone="+15550003333")
    chairs = [ChairFactory.create(clinic=home, name=f"Chair {n}") for n in range(1, 5)]
    protocol = ProtocolFactory.create(clinic=home)
    patients = [PatientFactory.create(clinic=home) for _ in range(5)]
    if role == Role.PATIENT:
        caller = UserFactory.create(role=Role.PATIENT)
        patients[0].user = caller
        patients[0].save(update_fields=["user"])
    else:
        caller = UserFactory.create(role=role, clinics=[home], phone="+15550001111")

    # Booked for next week; booked to start within the hour (check-in opens 60 minutes before).
    scheduled = SessionFactory.create(
        patient=patients[0], chair=chairs[0], protocol=protocol, starts_at=next_weekday_at(9)
    )
    soon = SessionFactory.create(
        patient=patients[3],
        chair=chairs[2],
        protocol=protocol,
        starts_at=now + timedelta(minutes=30),
    )
    # Checked in with a baseline, ready to start.
    checked_in = _checked_in(patients[1], chairs[0], protocol, nurse, now + timedelta(minutes=10))
    # Running, with a critical reading and its alerts, and an adverse event.
    running = _checked_in(patients[2], chairs[1], protocol, nurse, now - timedelta(minutes=5))
    monitoring_services.session_start(actor=nurse, session=running)
    high = _reading(now - timedelta(minutes=1), systolic=185, diastolic=95, spo2=92)
    monitoring_services.vital_readings_record(actor=nurse, session_id=running.pk, readings=[high])
    monitoring_services.vital_readings_flag(reading_ids=[high["id"]])
    monitoring_services.adverse_event_record(
        actor=nurse,
        session=running,
        event={"kind": AdverseEventKind.NAUSEA, "severity": AdverseEventSeverity.MILD},
    )
    # In recovery with a recent normal reading: ready to discharge.
    recovering = _checked_in(patients[4], chairs[3], protocol, nurse, now - timedelta(minutes=50))
    monitoring_services.session_start(actor=nurse, session=recovering)
    scheduling_services.session_complete(actor=nurse, session=recovering, reason="Pump alarm")
    monitoring_services.vital_readings_record(
        actor=nurse, session_id=recovering.pk, readings=[_reading(now - timedelta(minutes=1))]
    )
    _, token = monitoring_services.survey_send(
        actor=clinician, patient=patients[0], instrument="phq9"
    )

    away_patient = PatientFactory.create(clinic=away)
    away_session = SessionFactory.create(patient=away_patient)

    # A series (the booked session and one more) and closures, here and there.
    series = InfusionSeries.objects.create(patient=patients[0], protocol=protocol, created_by=nurse)
    SessionFactory.create(
        patient=patients[0],
        chair=chairs[0],
        protocol=protocol,
        series=series,
        starts_at=next_weekday_at(9, days_ahead=14),
    )
    scheduled.series = series
    scheduled.save(update_fields=["series"])
    away_series = InfusionSeries.objects.create(
        patient=away_patient, protocol=away_session.protocol, created_by=nurse
    )
    closures = [
        ClinicClosure.objects.create(clinic=clinic, date=day, reason="Staff training").pk
        for clinic, day in (
            (home, next_weekday_at(9, days_ahead=14).date()),
            (away, next_weekday_at(9).date()),
        )
    ]

    sessions = [s.pk for s in (scheduled, soon, checked_in, running, recovering, away_session)]
    clinics = [home.pk, away.pk]
    patient_ids = [p.pk for p in patients] + [away_patient.pk]
    protocols = [protocol.pk, away_session.protocol_id]
    chair_ids = [c.pk for c in chairs] + [away_session.chair_id]
    alerts = list(Alert.objects.values_list("pk", flat=True))
    assert alerts, "the critical reading raised no alert to fuzz with"
    next_week = next_weekday_at(9)
    starts = [(next_week + timedelta(minutes=minutes)).isoformat() for minutes in (-60, 0, 15, 240)]
    moments = [(now - timedelta(minutes=minutes)).isoformat() for minutes in (0, 1, 30)]
    references: dict[str, list[Any]] = {
        # Ids, in and out of the caller's scope.
        "clinic": clinics,
        "clinic_id": clinics,
        "clinics": clinics,
        "patient": patient_ids,
        "patient_id": patient_ids,
        "protocol": protocols,
        "protocol_id": protocols,
        "chair": chair_ids,
        "nurse": [nurse.pk, clinician.pk, caller.pk],
        "session": sessions,
        "session_id": sessions,
        "alert_id": alerts,
        "series_id": [series.pk, away_series.pk],
        "closure_id": closures,
        "token": [token],
        # Values that pass validation, so that creates and transitions get past the serializer.
        "date": [next_week.date().isoformat(), now.date().isoformat()],
        "starts_at": starts,
        "taken_at": moments,
        "occurred_at": moments,
        "due_at": moments,
        "timezone": ["America/New_York", "Asia/Kolkata"],
        "opening_time": ["08:00"],
        "closing_time": ["18:00"],
        "open_weekdays": [0, 1, 2, 3, 4],
        "date_of_birth": ["1980-02-29"],
        "weight_kg": ["70.5"],
        "dose_mg_per_kg": ["0.500"],
        "infusion_minutes": [40, 60],
        "answers": [[0] * 9, [1, 2, 0, 1, 0, 0, 3, 0, 1, 2], [0] * 7],
        "systolic": [118, 185],
        "diastolic": [76, 95],
        "temperature_c": ["36.8", "38.4"],
    }
    return World(caller=caller, references=references)


# --- Steering generated requests towards the seeded rows ---------------------------------------


def steered(operation: Any, references: dict[str, list[Any]]) -> st.SearchStrategy[Any]:
    """Cases for `operation`, valid and invalid, with each parameter named like a seeded
    reference set to one of its values four times in five (a list parameter to a list of
    them), in the body's objects too. In place: schemathesis notices the change."""
    generated = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @st.composite
    def cases(draw: st.DrawFn) -> Any:
        case = draw(generated)
        containers = [case.path_parameters, case.query]
        if isinstance(case.body, dict):
            containers.append(case.body)
        elif isinstance(case.body, list):  # a batch of readings
            containers.extend(item for item in case.body if isinstance(item, dict))
        for container in containers:
            for name in list(container or {}):
                # Steering is the simplest choice (0), which hypothesis tries first.
                if name not in references or draw(st.integers(0, 4)) == 4:
                    continue
                values = references[name]
                if isinstance(container[name], list) and not isinstance(values[0], list):
                    container[name] = draw(
                        st.lists(st.sampled_from(values), min_size=1, max_size=3)
                    )
                else:
                    container[name] = draw(st.sampled_from(values))
        return case

    return cases()


def allowed(operation: Any, role: str) -> bool:
    """Whether `role` may call the operation at all (the view's `allowed_roles`, which HasRole
    enforces); public operations are everyone's."""
    if not operation.definition.raw.get("security"):
        return True
    view = resolve(re.sub(r"\{[^}]+\}", "1", operation.path)).func.view_class  # type: ignore[attr-defined]
    return role in view.allowed_roles.get(operation.method.upper(), set())


@dataclass
class Outcome:
    operations: int = 0
    examples: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def fuzz_operation(
    operation: Any,
    *,
    world: World,
    token: str,
    examples: int,
    server_errors: list[str],
    outcome: Outcome,
) -> None:
    """Send the operation its bounded number of generated requests; record the first failure
    hypothesis finds (shrunk to its simplest form), with the server's traceback for a 500."""
    # Login and the patient's questionnaire link are public: no token is theirs to send.
    headers = (
        {"Authorization": f"Bearer {token}"} if operation.definition.raw.get("security") else {}
    )

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same requests on every run
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=steered(operation, world.references))
    def run(case: Any) -> None:
        outcome.examples += 1
        # Rate limits count per client address in the cache; each example is a new caller.
        cache.clear()
        server_errors.clear()
        savepoint = connection.savepoint()
        assert savepoint is not None, "not inside the test's transaction"
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        finally:
            connection.savepoint_rollback(savepoint)

    outcome.operations += 1
    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a BaseExceptionGroup
        report = str(exc)
        if server_errors:
            report += "\n\nServer traceback:\n" + server_errors[-1]
        outcome.failures[operation.label] = report


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_operation_conforms_to_the_schema_for_every_role(
    role: str, api_schema: Any, server_errors: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="django.request")  # not every 4xx; 500s yes
    world = seed(role)
    token = clinic_services.auth_login(username=world.caller.username, password=TEST_PASSWORD)
    outcome = Outcome()
    budget = 0
    started = time.monotonic()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        examples = EXAMPLES_ALLOWED if allowed(operation, role) else EXAMPLES_REFUSED
        budget += examples
        fuzz_operation(
            operation,
            world=world,
            token=token.token,
            examples=examples,
            server_errors=server_errors,
            outcome=outcome,
        )
    elapsed = time.monotonic() - started
    print(
        f"\n{role}: {outcome.examples} examples over {outcome.operations} operations "
        f"in {elapsed:.1f} s"
    )
    assert not outcome.failures, "\n\n".join(
        f"=== {label}\n{report}" for label, report in outcome.failures.items()
    )
    assert outcome.operations >= MIN_OPERATIONS
    # Hypothesis may stop short of the budget only where an operation's inputs run out.
    assert outcome.examples >= 0.9 * budget, (outcome.examples, budget)
