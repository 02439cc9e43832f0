"""Double booking is impossible, whatever the timing: real threads, real commits."""

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from clinic.models import Role
from scheduling.models import InfusionSession
from tests.conftest import client_for
from tests.factories import ChairFactory, PatientFactory
from tests.scheduling.conftest import booking_of


def race(clients: list[APIClient], payloads: list[dict]) -> list[tuple[int, dict]]:
    """Send every payload at the same instant, each from its own thread and connection."""
    barrier = threading.Barrier(len(payloads))
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def attempt(client: APIClient, payload: dict) -> None:
        try:
            barrier.wait()
            response = client.post("/api/v1/sessions/", payload, format="json")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=pair) for pair in zip(clients, payloads, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_bookings_racing_for_one_chair_exactly_one_wins(
    make_user, clinic, chair, protocol, monday_9am
) -> None:
    contenders = 8
    patients = [PatientFactory.create(clinic=clinic) for _ in range(contenders)]
    clients = [
        client_for(make_user(role=Role.SCHEDULER, clinics=[clinic])) for _ in range(contenders)
    ]
    payloads = [booking_of(p, protocol, chair, monday_9am) for p in patients]
    results = race(clients, payloads)
    assert Counter(status for status, _ in results) == {201: 1, 409: contenders - 1}
    for status, body in results:
        if status == 409:
            assert body["code"] == "slot_conflict" and body["conflict"] == "chair"
    assert InfusionSession.objects.filter(chair=chair).count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_patient_racing_onto_several_chairs_gets_one(
    make_user, clinic, protocol, monday_9am
) -> None:
    patient = PatientFactory.create(clinic=clinic)
    seats = [ChairFactory.create(clinic=clinic) for _ in range(5)]
    clients = [client_for(make_user(role=Role.SCHEDULER, clinics=[clinic])) for _ in seats]
    payloads = [booking_of(patient, protocol, seat, monday_9am) for seat in seats]
    results = race(clients, payloads)
    assert Counter(status for status, _ in results) == {201: 1, 409: 4}
    assert {body.get("conflict") for status, body in results if status == 409} == {"patient"}
    assert InfusionSession.objects.filter(patient=patient).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_nurses_limit_holds_under_racing_bookings(
    make_user, clinic, protocol, monday_9am
) -> None:
    nurse = make_user(role=Role.NURSE, clinics=[clinic])
    contenders = 6
    seats = [ChairFactory.create(clinic=clinic) for _ in range(contenders)]
    patients = [PatientFactory.create(clinic=clinic) for _ in range(contenders)]
    clients = [
        client_for(make_user(role=Role.SCHEDULER, clinics=[clinic])) for _ in range(contenders)
    ]
    payloads = [
        booking_of(p, protocol, seat, monday_9am, nurse=nurse.pk)
        for p, seat in zip(patients, seats, strict=True)
    ]
    results = race(clients, payloads)
    assert Counter(status for status, _ in results) == {201: 2, 409: contenders - 2}
    assert {body.get("conflict") for status, body in results if status == 409} == {"nurse"}
    assert InfusionSession.objects.filter(nurse=nurse).count() == 2
