"""Induction series: all or nothing, and a suggested series that can be posted as is."""

from datetime import datetime, timedelta

import pytest

from scheduling.models import InfusionSeries, InfusionSession
from tests.factories import PatientFactory


def series_payload(patient, protocol, starts, chair=None):
    payload = {
        "patient": patient.pk,
        "protocol": protocol.pk,
        "starts_at": [s.isoformat() for s in starts],
    }
    if chair is not None:
        payload["chair"] = chair.pk
    return payload


def weekdays_from(first: datetime, count: int) -> list[datetime]:
    starts: list[datetime] = []
    day = first
    while len(starts) < count:
        if day.weekday() < 5:
            starts.append(day)
        day += timedelta(days=2)
    return starts


@pytest.mark.django_db
def test_a_series_books_every_session(api_as, patient, protocol, chair, monday_9am) -> None:
    starts = weekdays_from(monday_9am, 6)
    response = api_as("scheduler").post(
        "/api/v1/series/", series_payload(patient, protocol, starts, chair), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["sessions"]) == 6
    assert {s["chair"] for s in body["sessions"]} == {chair.pk}
    assert all(s["status"] == "scheduled" for s in body["sessions"])
    assert InfusionSession.objects.filter(series_id=body["id"]).count() == 6


@pytest.mark.django_db
def test_a_series_with_one_conflict_books_nothing_and_says_which(
    api_as, patient, protocol, chair, clinic, monday_9am
) -> None:
    scheduler = api_as("scheduler")
    starts = weekdays_from(monday_9am, 4)
    other = PatientFactory.create(clinic=clinic)
    blocker = {
        "patient": other.pk,
        "protocol": protocol.pk,
        "chair": chair.pk,
        "starts_at": starts[2].isoformat(),
    }
    assert scheduler.post("/api/v1/sessions/", blocker, format="json").status_code == 201
    response = scheduler.post(
        "/api/v1/series/", series_payload(patient, protocol, starts, chair), format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "slot_conflict" and body["conflict"] == "chair"
    assert body["index"] == 2 and datetime.fromisoformat(body["starts_at"]) == starts[2]
    assert not InfusionSeries.objects.exists()
    assert InfusionSession.objects.count() == 1  # only the blocker


@pytest.mark.django_db
def test_without_a_chair_each_session_takes_a_free_one(
    api_as, patient, protocol, chairs, clinic, monday_9am
) -> None:
    scheduler = api_as("scheduler")
    other = PatientFactory.create(clinic=clinic)
    blocker = {
        "patient": other.pk,
        "protocol": protocol.pk,
        "chair": chairs[0].pk,
        "starts_at": monday_9am.isoformat(),
    }
    scheduler.post("/api/v1/sessions/", blocker, format="json")
    response = scheduler.post(
        "/api/v1/series/", series_payload(patient, protocol, [monday_9am]), format="json"
    )
    assert response.status_code == 201
    assert response.json()["sessions"][0]["chair"] == chairs[1].pk


@pytest.mark.django_db
@pytest.mark.parametrize("starts_at", [[], "soon", ["2030-01-01T09:00:00"]])
def test_a_bad_series_is_400(api_as, patient, protocol, starts_at) -> None:
    payload = {"patient": patient.pk, "protocol": protocol.pk, "starts_at": starts_at}
    response = api_as("scheduler").post("/api/v1/series/", payload, format="json")
    assert response.status_code == 400 and "starts_at" in response.json()["fields"]


@pytest.mark.django_db
def test_a_suggested_series_can_be_posted_as_is(api_as, patient, protocol, chairs) -> None:
    scheduler = api_as("scheduler")
    query = f"patient={patient.pk}&protocol={protocol.pk}&count=6&within_days=21&time=09:30"
    suggestion = scheduler.get(f"/api/v1/series/suggest/?{query}")
    assert suggestion.status_code == 200, suggestion.json()
    body = suggestion.json()
    assert len(body["starts_at"]) == 6 and len(body["sessions"]) == 6
    days = [datetime.fromisoformat(s).date() for s in body["starts_at"]]
    assert len(set(days)) == 6 and (days[-1] - days[0]).days < 21
    posted = scheduler.post("/api/v1/series/", body, format="json")
    assert posted.status_code == 201, posted.json()
    assert [s["starts_at"] for s in posted.json()["sessions"]] == body["starts_at"]


@pytest.mark.django_db
def test_a_series_that_cannot_fit_is_409(api_as, patient, protocol, chair) -> None:
    response = api_as("scheduler").get(
        f"/api/v1/series/suggest/?patient={patient.pk}&protocol={protocol.pk}&count=6&within_days=3"
    )
    assert response.status_code == 409 and response.json()["code"] == "no_availability"
