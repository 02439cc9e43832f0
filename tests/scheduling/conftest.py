"""Fixtures for scheduling: a clinic in America/New_York with chairs, a protocol, a patient."""

from datetime import datetime
from typing import Any

import pytest

from clinic.models import Chair, Clinic, Patient, Protocol
from tests.factories import ChairFactory, PatientFactory, ProtocolFactory, next_weekday_at

# Booked minutes of the default protocol: 15 prep + 40 infusion + 30 recovery.
BOOKED_MINUTES = 85


@pytest.fixture
def chairs(clinic: Clinic) -> list[Chair]:
    return [ChairFactory.create(clinic=clinic, name=f"Chair {n}") for n in range(1, 4)]


@pytest.fixture
def chair(chairs: list[Chair]) -> Chair:
    return chairs[0]


@pytest.fixture
def protocol(clinic: Clinic) -> Protocol:
    return ProtocolFactory.create(clinic=clinic)


@pytest.fixture
def patient(clinic: Clinic) -> Patient:
    return PatientFactory.create(clinic=clinic)


@pytest.fixture
def monday_9am() -> datetime:
    return next_weekday_at(9)


def booking_of(
    patient: Patient, protocol: Protocol, chair: Chair, starts_at: datetime, **more: Any
) -> dict[str, Any]:
    """The body of a booking request (POST /api/v1/sessions/)."""
    return {
        "patient": patient.pk,
        "protocol": protocol.pk,
        "chair": chair.pk,
        "starts_at": starts_at.isoformat(),
        **more,
    }


@pytest.fixture
def booking(
    patient: Patient, protocol: Protocol, chair: Chair, monday_9am: datetime
) -> dict[str, Any]:
    return booking_of(patient, protocol, chair, monday_9am)
