"""Flagging by Celery, none lost (DESIGN.md 4): alerts once per reading and parameter, through
a real worker, with the broker down, delivered twice; paging, escalation and missed readings."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import Notification, Protocol, Role
from monitoring.models import Alert, AlertEscalation, VitalReading
from monitoring.services import (
    alerts_escalate_due,
    missed_readings_detect,
    vital_readings_flag,
    vital_readings_flag_unflagged,
)
from monitoring.tasks import vital_readings_flag_unflagged as sweep_task
from scheduling.models import SessionStatus
from tests.conftest import broker_unreachable, client_for, wait_for
from tests.factories import checked_in_session

from .conftest import reading


def post(user, session, payload):
    return client_for(user).post(f"/api/v1/sessions/{session.pk}/vitals/", payload, format="json")


@pytest.mark.django_db
def test_flagging_creates_one_alert_per_flag_and_running_twice_changes_nothing(
    nurse_user, checked_in
) -> None:
    payload = reading(systolic=185, diastolic=112)
    post(nurse_user, checked_in, payload)
    assert vital_readings_flag(reading_ids=[payload["id"]]) == 2
    assert vital_readings_flag(reading_ids=[payload["id"]]) == 0  # the task delivered again
    alerts = Alert.objects.filter(reading_id=payload["id"]).order_by("parameter")
    assert [(a.parameter, a.severity, a.value) for a in alerts] == [
        ("diastolic", "critical", "112"),
        ("systolic", "critical", "185"),
    ]
    assert all(
        a.session_id == checked_in.pk and a.patient_id == checked_in.patient_id for a in alerts
    )
    stored = VitalReading.objects.get(pk=payload["id"])
    assert stored.flagged_at is not None
    assert {f["parameter"] for f in stored.flags} == {"systolic", "diastolic"}


@pytest.mark.django_db
def test_a_critical_alert_pages_the_nurse_and_clinicians_warnings_do_not(
    nurse_user, clinician_user, make_user, clinic, checked_in
) -> None:
    make_user(role=Role.SCHEDULER, clinics=[clinic], phone="+15550009999")
    warning = reading(heart_rate=115)
    critical = reading(spo2=90)
    post(nurse_user, checked_in, [warning, critical])
    vital_readings_flag(reading_ids=[warning["id"], critical["id"]])
    pages = Notification.objects.filter(kind="alert")
    assert {(n.recipient_user_id, n.urgent, n.status) for n in pages} == {
        (nurse_user.pk, True, "pending"),
        (clinician_user.pk, True, "pending"),
    }
    assert all("SpO2" in n.body or "spo2" in n.body.lower() for n in pages)


@pytest.mark.django_db
def test_the_sweep_flags_what_no_task_flagged(nurse_user, checked_in) -> None:
    payload = reading(systolic=182)
    post(nurse_user, checked_in, payload)
    assert vital_readings_flag_unflagged() == 0  # too fresh: its task may still be on the way
    with time_machine.travel(timezone.now() + timedelta(seconds=4)):
        assert vital_readings_flag_unflagged() == 1
        assert vital_readings_flag_unflagged() == 0
    assert Alert.objects.filter(parameter="systolic", severity="critical").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_abnormal_reading_is_flagged_by_the_worker(
    celery_worker, nurse_user, checked_in
) -> None:
    payload = reading(systolic=181, heart_rate=135)
    response = post(nurse_user, checked_in, payload)
    assert response.status_code == 201
    wait_for(lambda: Alert.objects.filter(reading_id=payload["id"]).count() == 3, timeout=10)
    assert set(Alert.objects.values_list("parameter", "severity")) == {
        ("systolic", "critical"),
        ("heart_rate", "critical"),
        ("news2", "warning"),  # a complete set in which the pulse alone scores 3
    }
    assert VitalReading.objects.get(pk=payload["id"]).flagged_at is not None


@pytest.mark.django_db(transaction=True)
def test_readings_arriving_while_the_broker_is_down_are_accepted_and_flagged_once_it_is_back(
    celery_worker, nurse_user, checked_in
) -> None:
    payloads = [reading(systolic=183), reading(spo2=91), reading()]
    with broker_unreachable():
        for payload in payloads:
            # The reading is safe even though its flagging task could not be sent.
            assert post(nurse_user, checked_in, payload).status_code == 201
    # The normal reading is settled as it is stored (nothing in it to alert on); the two
    # abnormal ones wait for their task.
    assert VitalReading.objects.filter(flagged_at__isnull=True).count() == 2
    normal = VitalReading.objects.get(pk=payloads[2]["id"])
    assert normal.flagged_at is not None and normal.flags == []
    assert not Alert.objects.exists()
    time.sleep(3.2)  # older than the sweep's grace period, in the worker's real time
    sweep_task.delay()  # what beat sends every 5 seconds, now that the broker is back
    wait_for(lambda: not VitalReading.objects.filter(flagged_at__isnull=True).exists(), timeout=20)
    sweep_task.delay()  # a second sweep finds nothing to do
    wait_for(
        lambda: celery_worker.succeeded("vital_readings_flag_unflagged") >= 2,
        timeout=20,
    )
    assert sorted(Alert.objects.values_list("parameter", "severity")) == [
        ("news2", "warning"),  # SpO2 91 alone scores 3 in a complete NEWS2 set
        ("spo2", "critical"),
        ("systolic", "critical"),
    ]


@pytest.mark.django_db
def test_an_open_critical_alert_is_escalated_up_the_chain_once_per_delay(
    nurse_user, clinician_user, make_user, clinic, checked_in
) -> None:
    admin = make_user(role=Role.ADMIN, clinics=[clinic], email="admin@example.com")
    payload = reading(systolic=190)
    post(nurse_user, checked_in, payload)
    vital_readings_flag(reading_ids=[payload["id"]])
    alert = Alert.objects.get(reading_id=payload["id"])
    with time_machine.travel(alert.created_at + timedelta(minutes=4, seconds=59)):
        assert alerts_escalate_due() == 0
    with time_machine.travel(alert.created_at + timedelta(minutes=5)):
        assert alerts_escalate_due() == 1
        assert alerts_escalate_due() == 0  # not again until another delay has passed
    alert.refresh_from_db()
    assert alert.escalation_level == 1
    escalation = AlertEscalation.objects.get(alert=alert)
    assert set(escalation.recipients.values_list("pk", flat=True)) == {clinician_user.pk, admin.pk}
    assert Notification.objects.filter(dedup_key=f"alert:{alert.pk}:level1:user{admin.pk}").exists()
    with time_machine.travel(alert.created_at + timedelta(minutes=10)):
        assert alerts_escalate_due() == 1
    alert.refresh_from_db()
    assert alert.escalation_level == 2


@pytest.mark.django_db
def test_an_acknowledged_alert_is_not_escalated(nurse_user, clinician_user, checked_in) -> None:
    payload = reading(systolic=190)
    post(nurse_user, checked_in, payload)
    vital_readings_flag(reading_ids=[payload["id"]])
    alert = Alert.objects.get(reading_id=payload["id"])
    response = client_for(clinician_user).post(
        f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "Labetalol given"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == clinician_user.pk
    assert body["note"] == "Labetalol given" and body["acknowledged_at"]
    again = client_for(clinician_user).post(
        f"/api/v1/alerts/{alert.pk}/acknowledge/", {}, format="json"
    )
    assert again.status_code == 409
    with time_machine.travel(alert.created_at + timedelta(minutes=30)):
        assert alerts_escalate_due() == 0


@pytest.mark.django_db
def test_the_alert_list_filters_and_scopes(api_as, nurse_user, checked_in, other_clinic) -> None:
    warn, crit = reading(heart_rate=115), reading(systolic=185)
    post(nurse_user, checked_in, [warn, crit])
    vital_readings_flag(reading_ids=[warn["id"], crit["id"]])
    nurse = client_for(nurse_user)
    everything = nurse.get("/api/v1/alerts/").json()["results"]
    assert len(everything) == 2
    assert set(everything[0]) >= {
        "id",
        "session",
        "patient",
        "reading",
        "parameter",
        "severity",
        "status",
        "message",
        "value",
        "created_at",
        "acknowledged_by",
        "acknowledged_at",
        "note",
    }
    critical = nurse.get("/api/v1/alerts/?severity=critical&status=open").json()["results"]
    assert [a["parameter"] for a in critical] == ["systolic"]
    assert nurse.get(
        f"/api/v1/alerts/?session={checked_in.pk}&patient={checked_in.patient_id}"
    ).json()["results"]
    assert nurse.get("/api/v1/alerts/?severity=bad").status_code == 400
    stranger = api_as("nurse", clinics=[other_clinic])
    assert stranger.get("/api/v1/alerts/").json()["results"] == []
    assert (
        stranger.post(
            f"/api/v1/alerts/{everything[0]['id']}/acknowledge/", {}, format="json"
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_a_missed_reading_is_raised_once_per_gap(nurse_user, checked_in) -> None:
    started = timezone.now()
    checked_in.status = SessionStatus.IN_PROGRESS
    checked_in.started_at = started
    checked_in.save()
    # Interval 15 minutes + 5: nothing until 20 minutes have passed without a reading.
    with time_machine.travel(started + timedelta(minutes=20)):
        assert missed_readings_detect() == 0
    with time_machine.travel(started + timedelta(minutes=20, seconds=1)):
        assert missed_readings_detect() == 1
        assert missed_readings_detect() == 0
    later = started + timedelta(minutes=22)
    with time_machine.travel(later):
        post(nurse_user, checked_in, reading(taken_at=later.isoformat()))
    with time_machine.travel(later + timedelta(minutes=21)):
        assert missed_readings_detect() == 1
    alerts = Alert.objects.filter(parameter="missed_reading")
    assert alerts.count() == 2 and {a.severity for a in alerts} == {"warning"}


@pytest.mark.django_db
def test_a_batch_is_flagged_in_a_constant_number_of_queries(nurse_user, checked_in) -> None:
    def flag_batch(size: int) -> int:
        payloads = [reading(heart_rate=112) for _ in range(size)]  # a warning each
        post(nurse_user, checked_in, payloads)
        with CaptureQueriesContext(connection) as queries:
            assert vital_readings_flag(reading_ids=[p["id"] for p in payloads]) == size
        return len(queries)

    assert flag_batch(3) == flag_batch(60)


@pytest.mark.django_db
def test_one_bad_row_does_not_hold_back_the_rest_of_a_batch(nurse_user, checked_in) -> None:
    payloads = [reading(heart_rate=112), reading(heart_rate=114), reading(heart_rate=116)]
    post(nurse_user, checked_in, payloads)
    # An alert already stands where the middle reading's would go: its insert must fail.
    Alert.objects.create(
        clinic=checked_in.clinic,
        patient=checked_in.patient,
        session=checked_in,
        parameter="heart_rate",
        severity="warning",
        message="m",
        dedup_key=f"reading:{payloads[1]['id']}:heart_rate",
    )
    assert vital_readings_flag(reading_ids=[p["id"] for p in payloads]) == 2
    flagged = VitalReading.objects.filter(flagged_at__isnull=False)
    assert set(map(str, flagged.values_list("pk", flat=True))) == {
        payloads[0]["id"],
        payloads[2]["id"],
    }


@pytest.mark.django_db
def test_a_reading_the_rules_cannot_evaluate_does_not_hold_back_the_batch(
    nurse_user, checked_in, clinic
) -> None:
    other = checked_in_session(clinic=clinic, nurse=nurse_user)
    good, bad = reading(heart_rate=112), reading(heart_rate=113)
    post(nurse_user, checked_in, good)
    post(nurse_user, other, bad)
    # A protocol whose stored thresholds the rules cannot read (the API refuses such values;
    # this stands for any bug that makes the rules raise on one session).
    Protocol.objects.filter(pk=other.protocol_id).update(
        thresholds={"vitals": {"heart_rate": {"warning": {"above": "garbage"}}}}
    )
    assert vital_readings_flag(reading_ids=[good["id"], bad["id"]]) == 1
    assert VitalReading.objects.get(pk=good["id"]).flagged_at is not None
    assert VitalReading.objects.get(pk=bad["id"]).flagged_at is None  # the sweep retries it
