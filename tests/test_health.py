"""/healthz answers while the process is up; /readyz tells whether the database and broker are."""

import pytest
from django.test import Client


def test_healthz_needs_nothing() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_it_is_down(broker_down) -> None:
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready" and "broker" in body["message"]
    assert body["checks"] == {"database": "ok", "broker": "down"}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_is_down(monkeypatch) -> None:
    from django.db import OperationalError, connection

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "down", "broker": "ok"}
