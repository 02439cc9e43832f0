"""Fixtures for monitoring: a session checked in a few minutes ago, ready for vitals."""

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from clinic.models import Role
from scheduling.models import InfusionSession, SessionStatus
from tests.factories import PatientFactory, SessionFactory


@pytest.fixture
def nurse_user(make_user, clinic):
    return make_user(role=Role.NURSE, clinics=[clinic], phone="+15550002222")


@pytest.fixture
def clinician_user(make_user, clinic):
    return make_user(role=Role.CLINICIAN, clinics=[clinic], phone="+15550003333")


@pytest.fixture
def checked_in(clinic, nurse_user) -> InfusionSession:
    now = timezone.now()
    return SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic, weight_kg=Decimal("70.0")),
        starts_at=now + timedelta(minutes=10),
        nurse=nurse_user,
        status=SessionStatus.CHECKED_IN,
        checked_in_at=now - timedelta(minutes=5),
        fasting_confirmed=True,
        escort_confirmed=True,
        weight_kg=Decimal("71.5"),
    )


def reading(**values: Any) -> dict[str, Any]:
    """A normal reading (nothing flagged) with `values` changed; taken a minute ago."""
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "taken_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "systolic": 120,
        "diastolic": 80,
        "heart_rate": 72,
        "spo2": 98,
        "respiratory_rate": 14,
        "temperature_c": "36.8",
        "consciousness": "alert",
        "on_oxygen": False,
    }
    base.update(values)
    return {k: v for k, v in base.items() if v is not ...}
