"""Fixtures for monitoring: a session checked in a few minutes ago, ready for vitals."""

import pytest

from clinic.models import Role
from scheduling.models import InfusionSession
from tests.conftest import client_for
from tests.factories import checked_in_session, reading

__all__ = ["reading"]  # the monitoring tests take it from here


def act(user, session, action, body=None):
    """POST one of a session's actions (start, stop, complete, discharge…) as `user`."""
    return client_for(user).post(
        f"/api/v1/sessions/{session.pk}/{action}/", body or {}, format="json"
    )


def vitals(user, session, **values):
    """Record one reading (the defaults of `reading`, with `values`) and return it as stored."""
    payload = reading(**values)
    response = client_for(user).post(
        f"/api/v1/sessions/{session.pk}/vitals/", payload, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def nurse_user(make_user, clinic):
    return make_user(role=Role.NURSE, clinics=[clinic], phone="+15550002222")


@pytest.fixture
def clinician_user(make_user, clinic):
    return make_user(role=Role.CLINICIAN, clinics=[clinic], phone="+15550003333")


@pytest.fixture
def checked_in(clinic, nurse_user) -> InfusionSession:
    return checked_in_session(clinic=clinic, nurse=nurse_user)
