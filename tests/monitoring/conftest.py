"""Fixtures for monitoring: a session checked in a few minutes ago, ready for vitals."""

import pytest

from clinic.models import Role
from scheduling.models import InfusionSession
from tests.factories import checked_in_session, reading

__all__ = ["reading"]  # the monitoring tests take it from here


@pytest.fixture
def nurse_user(make_user, clinic):
    return make_user(role=Role.NURSE, clinics=[clinic], phone="+15550002222")


@pytest.fixture
def clinician_user(make_user, clinic):
    return make_user(role=Role.CLINICIAN, clinics=[clinic], phone="+15550003333")


@pytest.fixture
def checked_in(clinic, nurse_user) -> InfusionSession:
    return checked_in_session(clinic=clinic, nurse=nurse_user)
