"""What an ingest locks, with real concurrent transactions: the session's row only (never its
clinic's or protocol's), so that ingests of one session take turns and a status change waits."""

import threading
from collections.abc import Callable
from typing import Any

import pytest

from monitoring.models import Alert, VitalReading
from tests.conftest import client_for, wait_for
from tests.factories import checked_in_session
from tests.reliability.faults import row_locked, side_connection, wait_for_lock_waiter

from .conftest import reading

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        from django.db import connection

        try:
            result["response"] = call()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def post_vitals(user, session, payload) -> Callable[[], Any]:
    client = client_for(user)
    return lambda: client.post(f"/api/v1/sessions/{session.pk}/vitals/", payload, format="json")


def answer_once_committed(held: Any, waits_on: str, call: Callable[[], Any]) -> Any:
    """Run `call` in a thread, let it wait for a lock on `waits_on`, commit the transaction
    `held` holds it with, and return what `call` got."""
    thread, result = in_thread(call)
    wait_for_lock_waiter(waits_on)
    held.commit()
    thread.join(timeout=15)
    return result["response"]


@pytest.mark.parametrize(
    ("table", "mode"),
    [
        ("clinic_clinic", "UPDATE"),  # anything holding the clinic, e.g. an admin's edit
        ("clinic_protocol", "UPDATE"),
        ("scheduling_infusionsession", "KEY SHARE"),  # e.g. a row being inserted that points at it
    ],
)
def test_an_ingest_does_not_wait_for_its_clinic_or_protocol(
    table, mode, nurse_user, checked_in
) -> None:
    pk = {
        "scheduling_infusionsession": checked_in.pk,
        "clinic_clinic": checked_in.clinic_id,
        "clinic_protocol": checked_in.protocol_id,
    }[table]
    payload = reading()
    with row_locked(table, pk, mode):
        thread, result = in_thread(post_vitals(nurse_user, checked_in, payload))
        thread.join(timeout=15)
        finished = not thread.is_alive()
    thread.join()
    assert finished, f"the ingest waited for a {mode} lock on {table}"
    assert result["response"].status_code == 201


def test_an_ingest_waits_for_a_discharge_in_progress_and_then_refuses(
    nurse_user, checked_in
) -> None:
    payload = reading()
    with row_locked("scheduling_infusionsession", checked_in.pk, "NO KEY UPDATE") as discharge:
        discharge.execute(
            "UPDATE scheduling_infusionsession SET status = 'discharged' WHERE id = %s",
            [checked_in.pk],
        )
        response = answer_once_committed(
            discharge, "scheduling_infusionsession", post_vitals(nurse_user, checked_in, payload)
        )
    assert response.status_code == 409 and response.json()["code"] == "session_not_active"
    assert not VitalReading.objects.filter(pk=payload["id"]).exists()


def test_the_same_reading_sent_twice_at_once_is_stored_once_and_replayed(
    nurse_user, checked_in
) -> None:
    """A tablet retrying while its first attempt is still in flight: one 201, one 200 replay,
    never a duplicate-key 500."""
    for _ in range(5):
        payload = reading()
        barrier = threading.Barrier(2)
        client = client_for(nurse_user)

        def send(client=client, payload=payload, barrier=barrier) -> Any:
            barrier.wait()
            return client.post(f"/api/v1/sessions/{checked_in.pk}/vitals/", payload, format="json")

        runs = [in_thread(send) for _ in range(2)]
        for thread, _ in runs:
            thread.join(timeout=30)
        assert sorted(result["response"].status_code for _, result in runs) == [200, 201]
        assert VitalReading.objects.filter(pk=payload["id"]).count() == 1


def test_one_reading_id_raced_into_two_sessions_is_stored_once_and_the_loser_gets_409(
    nurse_user, checked_in, clinic
) -> None:
    """Each session's lock is its own, so neither ingest sees the other's uncommitted reading;
    the primary key decides, and the one that loses is told, not given a 500."""
    other = checked_in_session(clinic=clinic, nurse=nurse_user)
    payload = reading()
    with side_connection() as first:
        first.autocommit = False
        first.execute(
            "INSERT INTO monitoring_vitalreading (id, session_id, taken_at, received_at,"
            " recorded_by_id, device_id, systolic, on_oxygen, flags)"
            " VALUES (%s, %s, now(), now(), %s, '', 120, false, '[]')",
            [payload["id"], checked_in.pk, nurse_user.pk],
        )
        response = answer_once_committed(
            first, "monitoring_vitalreading", post_vitals(nurse_user, other, payload)
        )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "idempotency_conflict"
    assert list(VitalReading.objects.values_list("session_id", flat=True)) == [checked_in.pk]


def test_a_reading_that_waited_for_a_start_is_judged_against_its_baseline(
    nurse_user, checked_in, celery_worker
) -> None:
    """The ingest's locking query waits for the start's lock; what it joins in is what its
    snapshot held (no start yet), so the rise from baseline must be read again once the lock is
    held, or the reading would be settled without it and never raise its alert. (The real
    worker raises it; waiting for it also keeps its transaction clear of the test's teardown.)"""
    baseline = reading(systolic=110, diastolic=70)
    assert post_vitals(nurse_user, checked_in, baseline)().status_code == 201
    risen = reading(systolic=150, diastolic=75)  # +40 systolic: a warning, and nothing else
    with row_locked("scheduling_infusionsession", checked_in.pk, "NO KEY UPDATE") as start:
        start.execute(
            "INSERT INTO monitoring_infusionstart (session_id, baseline_reading_id, weight_kg,"
            " dose_mg_per_kg, dose_mg, gate_failures, override_reason, started_by_id,"
            " started_at) VALUES (%s, %s, 71.5, 0.5, 35.75, '[]', '', %s, now())",
            [checked_in.pk, baseline["id"], nurse_user.pk],
        )
        start.execute(
            "UPDATE scheduling_infusionsession SET status = 'in_progress' WHERE id = %s",
            [checked_in.pk],
        )
        response = answer_once_committed(
            start, "scheduling_infusionsession", post_vitals(nurse_user, checked_in, risen)
        )
    assert response.status_code == 201, response.content
    assert [f["parameter"] for f in response.json()["flags"]] == ["baseline_rise"]
    stored = VitalReading.objects.get(pk=risen["id"])
    assert [f["parameter"] for f in stored.flags] == ["baseline_rise"]
    alert = wait_for(lambda: Alert.objects.filter(reading_id=risen["id"]).first())
    assert (alert.parameter, alert.severity) == ("baseline_rise", "warning")
