"""The authorization matrix: every API endpoint x every role x (an object of the caller's clinic,
an object of another clinic), against README's role table ("Who may do what").

The endpoints come from the URL configuration (tests/authz.py), so a new endpoint brings its own
cells, which fail until README has its row and REQUESTS below says how to call it. Each cell
is one test, with an id such as `nurse-POST /api/v1/sessions/{id}/reschedule/-other`:

- `own`: the URL names an object of the caller's clinic (for a patient: their own record and
  sessions) and the request references only such objects. A role the table allows gets
  anything but 401/403/404 (and never a 500); any other role gets 403 and changes nothing.
  Scope comes first: what a role cannot see at all (a patient sees no clinic, protocol or
  alert) is 404 for it even when it is "theirs".
- `other`: the URL names another clinic's object (for a patient: another patient's, in another
  clinic). Every role, allowed or not, gets the views' own 404 body, and nothing changes.
- `other:<ref>`: no id in the URL (or an own one), but the query or body names one object of
  another clinic (`POST /sessions/` with another clinic's chair, `?clinic=` of availability).
  An allowed role gets 400 naming the field for a body, 404 for a query, and nothing changes;
  list filters (`GET /sessions/?patient=`) narrow the caller's scope, so they answer 200 with
  nothing in it. A role that may not call the endpoint gets the same answer as for its own
  objects (403): the refusal does not depend on the object, so it tells nothing about it.

A superuser is an admin of every clinic (API.md): it has `own` cells only, there being no
clinic outside its scope. The number of cells is the number of tests collected here under
test_cell (`pytest --collect-only -q <this file> | grep -c test_cell`).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone

from clinic.audit import audit_read
from clinic.models import (
    AuthToken,
    Chair,
    Channel,
    Clinic,
    ClinicClosure,
    Notification,
    NotificationKind,
    Patient,
    Protocol,
    Role,
    User,
)
from config.api.permissions import registered_url_objects
from monitoring.models import Alert, Survey
from monitoring.services import survey_send
from scheduling.models import InfusionSeries, InfusionSession, SessionStatus
from tests.authz import ROLES, Route, api_routes, role_table
from tests.conftest import client_for
from tests.factories import (
    ChairFactory,
    ClinicFactory,
    PatientFactory,
    ProtocolFactory,
    SessionFactory,
    UserFactory,
    next_weekday_at,
)

NOT_FOUND = {"code": "not_found", "message": "Not found."}


# --- The two clinics ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Side:
    """One clinic and one of everything in it that a request can name."""

    clinic: Clinic
    patient: Patient
    protocol: Protocol
    chair: Chair
    nurse: User
    session: InfusionSession
    alert: Alert
    survey: Survey
    series: InfusionSeries
    closure: ClinicClosure


def build_side(name: str, *, patient_user: User | None = None) -> Side:
    clinic = ClinicFactory.create(name=name)
    nurse = UserFactory.create(role=Role.NURSE, clinics=[clinic])
    patient = PatientFactory.create(clinic=clinic, user=patient_user)
    protocol = ProtocolFactory.create(clinic=clinic)
    chair = ChairFactory.create(clinic=clinic)
    now = timezone.now()
    series = InfusionSeries.objects.create(patient=patient, protocol=protocol, created_by=nurse)
    # Checked in and about to start: the state in which most actions would succeed, so that a
    # request that slipped past scoping would change something the test can see.
    session = SessionFactory.create(
        patient=patient,
        chair=chair,
        protocol=protocol,
        nurse=nurse,
        series=series,
        starts_at=now + timedelta(minutes=10),
        status=SessionStatus.CHECKED_IN,
        checked_in_at=now - timedelta(minutes=5),
        fasting_confirmed=True,
        escort_confirmed=True,
        weight_kg=Decimal("70.0"),
    )
    # The rest of the series, still to come, on a day the clinic closes: what a series cancel
    # or a closure's affected sessions would reach across clinics if scoping failed.
    later = SessionFactory.create(
        patient=patient,
        chair=chair,
        protocol=protocol,
        nurse=nurse,
        series=series,
        starts_at=next_weekday_at(9, days_ahead=14),
    )
    closure = ClinicClosure.objects.create(
        clinic=clinic, date=later.starts_at.date(), reason="Staff training"
    )
    alert = Alert.objects.create(
        clinic=clinic,
        patient=patient,
        session=session,
        parameter="systolic",
        severity="warning",
        message="Systolic 165 mmHg",
        value="165",
        dedup_key=f"matrix-{session.pk}",
    )
    survey, _ = survey_send(actor=nurse, patient=patient, instrument="phq9")  # and its link
    Notification.objects.create(
        clinic=clinic,
        patient=patient,
        channel=Channel.SMS,
        recipient=patient.phone,
        kind=NotificationKind.APPOINTMENT_REMINDER,
        body="See you tomorrow.",
        dedup_key=f"matrix-reminder-{session.pk}",
        scheduled_for=now,
        session=session.pk,
    )
    audit_read(actor=nurse, object_type="patient", object_id=patient.pk, patient=patient)
    return Side(clinic, patient, protocol, chair, nurse, session, alert, survey, series, closure)


# URL keyword -> the Side attribute it names.
URL_OBJECTS = {
    "clinic_id": "clinic",
    "patient_id": "patient",
    "protocol_id": "protocol",
    "session_id": "session",
    "alert_id": "alert",
    "series_id": "series",
    "closure_id": "closure",
    "survey_id": "survey",
}

# What a patient cannot see at all (clinic.selectors, monitoring.selectors), even their own.
OUTSIDE_A_PATIENTS_SCOPE = {"clinic_id", "protocol_id", "alert_id", "closure_id"}


# --- How to call each endpoint ------------------------------------------------------------------


def monday(hour: int, days_later: int = 0) -> str:
    return (next_weekday_at(hour) + timedelta(days=days_later)).isoformat()


@dataclasses.dataclass(frozen=True)
class Call:
    """A valid request: `data(side)` is the query (GET) or JSON body (POST), built from the
    objects of `side`; `refs` maps each Side attribute it names to its query or body field."""

    data: Callable[[Side], dict[str, Any]] = lambda side: {}
    refs: dict[str, str] = dataclasses.field(default_factory=dict)
    filters: bool = False  # the refs are list filters


def reading(side: Side) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "taken_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "systolic": 120,
        "diastolic": 80,
        "heart_rate": 72,
    }


API = "/api/v1"
REQUESTS: dict[str, Call] = {
    f"POST {API}/auth/logout/": Call(),
    f"GET {API}/clinics/": Call(),
    f"POST {API}/clinics/": Call(
        lambda side: {
            "name": "New clinic",
            "timezone": "America/New_York",
            "opening_time": "08:00",
            "closing_time": "18:00",
            "open_weekdays": [0, 1, 2, 3, 4],
        }
    ),
    f"GET {API}/clinics/{{id}}/": Call(),
    f"GET {API}/clinics/{{id}}/closures/": Call(),
    f"POST {API}/clinics/{{id}}/closures/": Call(
        lambda side: {
            "date": (next_weekday_at(9) + timedelta(days=1)).date().isoformat(),
            "opens_at": "12:00",
            "closes_at": "18:00",
            "reason": "Staff training in the morning.",
        }
    ),
    f"GET {API}/clinics/{{id}}/closures/{{id}}/affected-sessions/": Call(),
    f"GET {API}/chairs/": Call(
        lambda side: {"clinic": side.clinic.pk}, {"clinic": "clinic"}, filters=True
    ),
    f"POST {API}/chairs/": Call(
        lambda side: {"clinic": side.clinic.pk, "name": "New chair"}, {"clinic": "clinic"}
    ),
    f"GET {API}/staff/": Call(),
    f"POST {API}/staff/": Call(
        lambda side: {
            "username": "new-nurse",
            "password": "a-long-enough-password-1",
            "role": "nurse",
            "clinics": [side.clinic.pk],
        },
        {"clinic": "clinics"},
    ),
    f"GET {API}/patients/": Call(
        lambda side: {"clinic": side.clinic.pk}, {"clinic": "clinic"}, filters=True
    ),
    f"POST {API}/patients/": Call(
        lambda side: {
            "clinic": side.clinic.pk,
            "first_name": "New",
            "last_name": "Patient",
            "date_of_birth": "1980-01-01",
            "phone": "+15551230000",
            "weight_kg": "70.0",
        },
        {"clinic": "clinic"},
    ),
    f"GET {API}/patients/{{id}}/": Call(),
    f"POST {API}/patients/{{id}}/contraindications-review/": Call(),
    f"GET {API}/patients/{{id}}/sessions.ics": Call(),
    f"GET {API}/patients/{{id}}/outcomes/": Call(),
    f"GET {API}/patients/{{id}}/outcomes.svg": Call(),
    f"GET {API}/protocols/": Call(),
    f"POST {API}/protocols/": Call(
        lambda side: {
            "clinic": side.clinic.pk,
            "name": "New protocol",
            "route": "iv",
            "dose_mg_per_kg": "0.50",
            "infusion_minutes": 40,
        },
        {"clinic": "clinic"},
    ),
    f"GET {API}/protocols/{{id}}/": Call(),
    f"GET {API}/audit-events/": Call(
        lambda side: {"patient": side.patient.pk}, {"patient": "patient"}, filters=True
    ),
    f"GET {API}/notifications/": Call(
        lambda side: {"patient": side.patient.pk, "session": side.session.pk},
        {"patient": "patient", "session": "session"},
        filters=True,
    ),
    f"GET {API}/sessions/": Call(
        lambda side: {
            "clinic": side.clinic.pk,
            "patient": side.patient.pk,
            "chair": side.chair.pk,
            "nurse": side.nurse.pk,
        },
        {"clinic": "clinic", "patient": "patient", "chair": "chair", "nurse": "nurse"},
        filters=True,
    ),
    f"POST {API}/sessions/": Call(
        lambda side: {
            "patient": side.patient.pk,
            "protocol": side.protocol.pk,
            "chair": side.chair.pk,
            "nurse": side.nurse.pk,
            "starts_at": monday(9),
        },
        {"patient": "patient", "protocol": "protocol", "chair": "chair", "nurse": "nurse"},
    ),
    f"GET {API}/sessions/{{id}}/": Call(),
    f"POST {API}/sessions/{{id}}/check-in/": Call(
        lambda side: {"fasting_confirmed": True, "escort_confirmed": True}
    ),
    f"POST {API}/sessions/{{id}}/complete/": Call(),
    f"POST {API}/sessions/{{id}}/cancel/": Call(lambda side: {"reason": "The patient asked."}),
    f"POST {API}/sessions/{{id}}/no-show/": Call(),
    f"POST {API}/sessions/{{id}}/reschedule/": Call(
        lambda side: {"starts_at": monday(11), "chair": side.chair.pk}, {"chair": "chair"}
    ),
    f"GET {API}/availability/": Call(
        lambda side: {
            "clinic": side.clinic.pk,
            "protocol": side.protocol.pk,
            "date": next_weekday_at(9).date().isoformat(),
            "patient": side.patient.pk,
        },
        {"clinic": "clinic", "protocol": "protocol", "patient": "patient"},
    ),
    f"POST {API}/series/": Call(
        lambda side: {
            "patient": side.patient.pk,
            "protocol": side.protocol.pk,
            "chair": side.chair.pk,
            "starts_at": [monday(9), monday(9, days_later=2)],
        },
        {"patient": "patient", "protocol": "protocol", "chair": "chair"},
    ),
    f"GET {API}/series/{{id}}/": Call(),
    f"POST {API}/series/{{id}}/cancel/": Call(lambda side: {"reason": "The patient moved away."}),
    f"GET {API}/series/suggest/": Call(
        lambda side: {"patient": side.patient.pk, "protocol": side.protocol.pk, "count": 2},
        {"patient": "patient", "protocol": "protocol"},
    ),
    f"GET {API}/sessions/{{id}}/vitals/": Call(),
    f"POST {API}/sessions/{{id}}/vitals/": Call(reading),
    f"POST {API}/sessions/{{id}}/start/": Call(),
    f"POST {API}/sessions/{{id}}/stop/": Call(lambda side: {"reason": "Nausea."}),
    f"POST {API}/sessions/{{id}}/discharge/": Call(),
    f"POST {API}/sessions/{{id}}/confirm-escort/": Call(lambda side: {"name": "Sam Escort"}),
    f"GET {API}/sessions/{{id}}/adverse-events/": Call(),
    f"POST {API}/sessions/{{id}}/adverse-events/": Call(
        lambda side: {"kind": "nausea", "severity": "mild"}
    ),
    f"GET {API}/sessions/{{id}}/summary/": Call(),
    f"GET {API}/sessions/{{id}}/chart.svg": Call(),
    f"GET {API}/alerts/": Call(
        lambda side: {"patient": side.patient.pk, "session": side.session.pk},
        {"patient": "patient", "session": "session"},
        filters=True,
    ),
    f"POST {API}/alerts/{{id}}/acknowledge/": Call(lambda side: {"note": "Seen, rechecking."}),
    f"GET {API}/instruments/": Call(),
    f"GET {API}/surveys/": Call(
        lambda side: {"patient": side.patient.pk}, {"patient": "patient"}, filters=True
    ),
    f"GET {API}/surveys/{{id}}/": Call(),
    f"POST {API}/surveys/": Call(
        lambda side: {"patient": side.patient.pk, "instrument": "phq9"}, {"patient": "patient"}
    ),
}


# --- The cells ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Cell:
    role: str  # one of ROLES, or "superuser"
    route: Route
    scope: str  # "own", "other" (the URL's object) or "other:<ref>" (a query/body reference)

    @property
    def id(self) -> str:
        return f"{self.role}-{self.route.endpoint}-{self.scope}"


def cells() -> list[Cell]:
    found = []
    for route in api_routes():
        call = REQUESTS.get(route.endpoint, Call())
        for role in [*ROLES, "superuser"]:
            found.append(Cell(role, route, "own"))
            if role == "superuser":
                continue  # every clinic is a superuser's own
            if route.kwargs:
                found.append(Cell(role, route, "other"))
            found.extend(Cell(role, route, f"other:{ref}") for ref in call.refs)
    return found


CELLS = cells()


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of the project's tables but the bearer tokens (each request marks its own as
    used)."""
    state = {}
    for label in ("clinic", "scheduling", "monitoring"):
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model is not AuthToken:
                state[model._meta.label] = list(model._default_manager.order_by("pk").values())
    return state


def caller_for(role: str) -> User:
    if role == "superuser":
        return UserFactory.create(role=Role.ADMIN, is_superuser=True, is_staff=True)
    return UserFactory.create(role=role)


def expected_refusal(role: str, route: Route) -> int:
    if role == Role.PATIENT and OUTSIDE_A_PATIENTS_SCOPE & set(route.kwargs):
        return 404
    return 403


@pytest.mark.django_db
@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_cell(cell: Cell) -> None:
    route = cell.route
    table = role_table()
    assert route.endpoint in table, f"add a row for {route.endpoint} to README's role table"
    assert route.endpoint in REQUESTS, f"describe a valid {route.endpoint} request in REQUESTS"
    allowed = table[route.endpoint]["admin" if cell.role == "superuser" else cell.role]
    call = REQUESTS[route.endpoint]

    user = caller_for(cell.role)
    own = build_side("Home Clinic", patient_user=user if cell.role == Role.PATIENT else None)
    if cell.role not in (Role.PATIENT, "superuser"):
        user.clinics.set([own.clinic])
    other = build_side("Other Clinic", patient_user=UserFactory.create(role=Role.PATIENT))

    url_side = other if cell.scope == "other" else own
    path = route.path
    for kwarg in route.kwargs:
        path = path.replace("{id}", str(getattr(url_side, URL_OBJECTS[kwarg]).pk), 1)
    data_side = url_side
    ref = cell.scope.removeprefix("other:") if cell.scope.startswith("other:") else None
    if ref is not None:
        data_side = dataclasses.replace(own, **{ref: getattr(other, ref)})
    data = call.data(data_side)
    if ref is not None and call.filters:
        data = {call.refs[ref]: data[call.refs[ref]]}  # one filter: nothing else narrows it

    client = client_for(user)
    before = database_state()
    if route.method == "GET":
        response = client.get(path, data)
    else:
        response = getattr(client, route.method.lower())(path, data, format="json")
    status = response.status_code
    assert status < 500, response.content

    if cell.scope == "other":
        want = 404  # whoever asks, allowed or not
    elif not allowed:
        want = expected_refusal(cell.role, route)
    elif cell.scope == "own":
        assert status not in (401, 403, 404), response.content
        if call.filters:  # so that finding nothing of the other clinic's means something
            assert response.json()["results"], "the own filter found nothing"
        return
    elif call.filters:
        want = 200  # a filter narrows the caller's own scope: nothing matches
    elif route.method == "GET":
        want = 404  # the query names another clinic's object
    else:
        want = 400  # the body does

    assert status == want, response.content
    body = response.json()
    if want == 404:
        assert body == NOT_FOUND
    elif want == 403:
        assert body["code"] == "permission_denied"
    elif want == 400:
        assert body["code"] == "invalid"
        assert call.refs[ref or ""] in body["fields"], body
    else:
        assert body["results"] == [], "a filter reached past the caller's scope"
    assert database_state() == before, "the request changed the database"


def test_every_url_keyword_is_looked_up_in_scope() -> None:
    """HasRole turns a refusal into 404 through the selector registered for each URL keyword;
    an unregistered one would fall back to 403 for another clinic's object."""
    keywords = {kwarg for route in api_routes() for kwarg in route.kwargs}
    assert keywords <= set(registered_url_objects()), keywords - set(registered_url_objects())
    assert keywords <= set(URL_OBJECTS), keywords - set(URL_OBJECTS)


def test_requests_describe_only_endpoints_that_exist() -> None:
    stale = set(REQUESTS) - {route.endpoint for route in api_routes()}
    assert not stale, f"REQUESTS for endpoints that do not exist: {sorted(stale)}"
