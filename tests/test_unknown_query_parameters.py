"""An unknown query parameter on a list is a 400 `invalid_filter` naming it, never ignored: a
misspelt filter (`?stauts=open`) silently dropped would answer more than was asked for
(issue 13, point 12). Every list (every ListApi, found from the URL configuration, so a new list
is covered by itself), availability and series/suggest."""

from __future__ import annotations

from typing import Any

import pytest

from clinic.apis import ListApi
from clinic.models import Clinic, Role
from tests.authz import ROLES, Route, api_routes
from tests.conftest import client_for
from tests.factories import (
    ChairFactory,
    PatientFactory,
    ProtocolFactory,
    SessionFactory,
    UserFactory,
    next_weekday_at,
)


def list_routes() -> list[Route]:
    return [
        route for route in api_routes() if route.method == "GET" and issubclass(route.view, ListApi)
    ]


LISTS = list_routes()


def test_the_lists_are_found() -> None:
    endpoints = {route.path for route in LISTS}
    assert {
        "/api/v1/sessions/",
        "/api/v1/patients/",
        "/api/v1/clinics/",
        "/api/v1/alerts/",
        "/api/v1/surveys/",
        "/api/v1/notifications/",
        "/api/v1/audit-events/",
    } <= endpoints


def answer_as_a_role_that_may_call(path: str, clinic: Clinic) -> Any:
    """GET `path` as the first role that is not refused (403) for it."""
    response = None
    for role in ["superuser", *ROLES]:
        if role == "superuser":
            user = UserFactory.create(role=Role.ADMIN, is_superuser=True, is_staff=True)
        else:
            user = UserFactory.create(role=role, clinics=[clinic])
        response = client_for(user).get(path)
        if response.status_code != 403:
            return response
    return response


@pytest.mark.django_db
@pytest.mark.parametrize("route", LISTS, ids=[route.path for route in LISTS])
def test_every_list_refuses_an_unknown_parameter(route: Route, clinic: Clinic) -> None:
    # Any id in the URL: the query is checked before anything is looked up for the rows.
    path = route.path.replace("{id}", str(clinic.pk))
    response = answer_as_a_role_that_may_call(f"{path}?stauts=open&zz=1", clinic)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_filter"
    assert body["message"] == "Unknown query parameters: stauts, zz."
    assert body["fields"] == {
        "stauts": ["Unknown query parameter."],
        "zz": ["Unknown query parameter."],
    }


@pytest.mark.django_db
def test_the_pagination_parameters_and_the_filters_are_known(api_as, clinic: Clinic) -> None:
    for _ in range(3):
        SessionFactory.create(patient=PatientFactory.create(clinic=clinic))
    client = api_as("scheduler")

    first = client.get(f"/api/v1/sessions/?page_size=2&clinic={clinic.pk}&status=scheduled")
    assert first.status_code == 200, first.content
    assert len(first.json()["results"]) == 2
    following = client.get(first.json()["next"])  # carries cursor= and the filters
    assert following.status_code == 200, following.content
    assert len(following.json()["results"]) == 1

    # One unknown parameter among known ones: refused, named alone.
    mixed = client.get(f"/api/v1/sessions/?page_size=2&clinic={clinic.pk}&chiar=1")
    assert mixed.status_code == 400
    assert mixed.json()["message"] == "Unknown query parameter: chiar."
    # A list without filters knows only the paginator's parameters.
    assert client.get("/api/v1/clinics/?page_size=1").status_code == 200
    assert client.get(f"/api/v1/clinics/?clinic={clinic.pk}").json()["code"] == "invalid_filter"


@pytest.mark.django_db
def test_availability_and_series_suggest_refuse_an_unknown_parameter(
    api_as, clinic: Clinic
) -> None:
    protocol = ProtocolFactory.create(clinic=clinic)
    patient = PatientFactory.create(clinic=clinic)
    ChairFactory.create(clinic=clinic)
    day = next_weekday_at(9).date()
    client = api_as("scheduler")
    availability = f"/api/v1/availability/?clinic={clinic.pk}&protocol={protocol.pk}&date={day}"
    suggest = f"/api/v1/series/suggest/?patient={patient.pk}&protocol={protocol.pk}&count=2"

    for url in (availability, suggest):
        assert client.get(url).status_code == 200, url
        refused = client.get(f"{url}&chair=1")
        assert refused.status_code == 400, url
        assert refused.json()["code"] == "invalid_filter"
        assert refused.json()["message"] == "Unknown query parameter: chair."
    # Neither is paged: a cursor means nothing to them.
    assert client.get(f"{availability}&cursor=abc").json()["code"] == "invalid_filter"
