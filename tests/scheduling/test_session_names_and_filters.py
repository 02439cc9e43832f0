"""Sessions name what they reference (patient, chair, protocol, nurse), without a query per row,
and the list filters by chair and nurse too (issue 13, point 12)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import Chair, Clinic, Role, User
from scheduling.models import InfusionSession
from tests.factories import (
    ChairFactory,
    ClinicFactory,
    PatientFactory,
    ProtocolFactory,
    SessionFactory,
    UserFactory,
)


def names(body: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(body[key] for key in ("patient_name", "chair_name", "protocol_name", "nurse_name"))


@pytest.mark.django_db
def test_a_session_names_its_patient_chair_protocol_and_nurse(
    api_as, clinic: Clinic, monday_9am: datetime
) -> None:
    nurse = UserFactory.create(
        role=Role.NURSE, clinics=[clinic], first_name="Noor", last_name="Haddad"
    )
    session = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic, first_name="Ada", last_name="Byron"),
        chair=ChairFactory.create(clinic=clinic, name="Window 2"),
        protocol=ProtocolFactory.create(clinic=clinic, name="IV ketamine 0.5 mg/kg"),
        nurse=nurse,
        starts_at=monday_9am,
    )
    client = api_as("scheduler")
    expected = ("Ada Byron", "Window 2", "IV ketamine 0.5 mg/kg", "Noor Haddad")

    assert names(client.get(f"/api/v1/sessions/{session.pk}/").json()) == expected
    [listed] = client.get("/api/v1/sessions/").json()["results"]
    assert names(listed) == expected


@pytest.mark.django_db
def test_no_nurse_is_null_and_a_nurse_without_a_name_is_their_username(
    api_as, clinic: Clinic, monday_9am: datetime
) -> None:
    unnamed = UserFactory.create(
        role=Role.NURSE, clinics=[clinic], username="nurse-7", first_name="", last_name=""
    )
    without = SessionFactory.create(patient=PatientFactory.create(clinic=clinic))
    with_unnamed = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic), nurse=unnamed
    )
    client = api_as("nurse")

    assert client.get(f"/api/v1/sessions/{without.pk}/").json()["nurse_name"] is None
    assert client.get(f"/api/v1/sessions/{with_unnamed.pk}/").json()["nurse_name"] == "nurse-7"


def list_queries(client: Any, url: str) -> tuple[int, list[dict[str, Any]]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200, response.content
    return len(captured), response.json()["results"]


@pytest.mark.django_db
def test_the_names_cost_no_query_per_session(api_as, clinic: Clinic, monday_9am: datetime) -> None:
    client = api_as("scheduler")
    url = "/api/v1/sessions/?page_size=100"
    list_queries(client, url)  # the token's first use writes its last_used_at

    def add(count: int) -> None:
        # Each with its own patient, chair, protocol and nurse: nothing shared to cache.
        for _ in range(count):
            SessionFactory.create(
                patient=PatientFactory.create(clinic=clinic),
                chair=ChairFactory.create(clinic=clinic),
                protocol=ProtocolFactory.create(clinic=clinic),
                nurse=UserFactory.create(role=Role.NURSE, clinics=[clinic]),
                starts_at=monday_9am,
            )

    add(3)
    few, rows = list_queries(client, url)
    assert len(rows) == 3 and all(None not in names(row) for row in rows)
    add(27)
    many, rows = list_queries(client, url)
    assert len(rows) == 30 and all(None not in names(row) for row in rows)
    assert many == few
    # The token with its user, the page (sessions joined to their clinic, patient, chair,
    # protocol and nurse), their transitions, and the read audit's one INSERT.
    assert few == 4


@pytest.mark.django_db
def test_the_list_filters_by_chair_and_by_nurse(
    api_as, clinic: Clinic, chairs: list[Chair], monday_9am: datetime
) -> None:
    first, second = (UserFactory.create(role=Role.NURSE, clinics=[clinic]) for _ in range(2))

    def session(chair: Chair, nurse: User | None, hours_later: int) -> InfusionSession:
        return SessionFactory.create(
            patient=PatientFactory.create(clinic=clinic),
            chair=chair,
            nurse=nurse,
            starts_at=monday_9am + timedelta(hours=hours_later),
        )

    a = session(chairs[0], first, 0)
    b = session(chairs[0], second, 2)
    c = session(chairs[1], first, 4)
    session(chairs[2], None, 6)
    client = api_as("scheduler")

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/sessions/?{query}")
        assert response.status_code == 200, response.content
        return sorted(row["id"] for row in response.json()["results"])

    assert ids(f"chair={chairs[0].pk}") == sorted([a.pk, b.pk])
    assert ids(f"nurse={first.pk}") == sorted([a.pk, c.pk])
    assert ids(f"chair={chairs[0].pk}&nurse={second.pk}") == [b.pk]
    assert ids(f"chair={chairs[1].pk}&nurse={second.pk}") == []


@pytest.mark.django_db
def test_the_chair_and_nurse_filters_refuse_bad_values_and_stay_in_scope(
    api_as, clinic: Clinic, monday_9am: datetime
) -> None:
    elsewhere = ClinicFactory.create(name="Elsewhere")
    their_nurse = UserFactory.create(role=Role.NURSE, clinics=[elsewhere])
    theirs = SessionFactory.create(
        patient=PatientFactory.create(clinic=elsewhere), nurse=their_nurse, starts_at=monday_9am
    )
    client = api_as("scheduler")

    # Another clinic's chair or nurse narrows the caller's own sessions: nothing.
    for query in (f"chair={theirs.chair_id}", f"nurse={their_nurse.pk}"):
        response = client.get(f"/api/v1/sessions/?{query}")
        assert response.status_code == 200
        assert response.json()["results"] == []
    for query in ("chair=abc", "chair=0", "nurse=1.5", "nurse=-2"):
        response = client.get(f"/api/v1/sessions/?{query}")
        assert response.status_code == 400, query
        assert response.json()["code"] == "invalid"
        assert set(response.json()["fields"]) == {query.split("=")[0]}
