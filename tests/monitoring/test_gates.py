"""The clinical gates of a session (CLINICAL.md): start, stop, discharge; adverse events;
the summary and the chart."""

import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.utils import timezone

from monitoring.models import AdverseEvent, Alert, InfusionStart, VitalReading
from monitoring.services import vital_readings_flag
from scheduling.models import InfusionSession, SessionStatus
from tests.conftest import client_for

from .conftest import act, reading, vitals


@pytest.mark.django_db
def test_start_needs_a_baseline_taken_after_check_in(nurse_user, checked_in) -> None:
    response = act(nurse_user, checked_in, "start")
    assert response.status_code == 409 and response.json()["code"] == "pre_start_check_failed"
    before_check_in = (checked_in.checked_in_at - timedelta(minutes=1)).isoformat()
    vitals(nurse_user, checked_in, taken_at=before_check_in)
    assert act(nurse_user, checked_in, "start").status_code == 409
    vitals(nurse_user, checked_in, taken_at=checked_in.checked_in_at.isoformat())
    assert act(nurse_user, checked_in, "start").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("systolic", "diastolic", "blocked"),
    [(140, 90, False), (141, 85, True), (130, 91, True)],
)
def test_the_pre_start_blood_pressure_gate(
    nurse_user, checked_in, systolic, diastolic, blocked
) -> None:
    vitals(nurse_user, checked_in, systolic=systolic, diastolic=diastolic)
    response = act(nurse_user, checked_in, "start")
    assert response.status_code == (409 if blocked else 200), response.json()
    if blocked:
        assert response.json()["code"] == "pre_start_check_failed" and response.json()["failures"]


@pytest.mark.django_db
def test_only_a_clinician_overrides_the_gate_and_both_are_kept(
    nurse_user, clinician_user, checked_in
) -> None:
    vitals(nurse_user, checked_in, systolic=152, diastolic=88)
    reason = "Anxious on arrival; repeat BP trending down; benefits outweigh risk."
    nurse_try = act(nurse_user, checked_in, "start", {"override_reason": reason})
    assert nurse_try.status_code == 409
    response = act(clinician_user, checked_in, "start", {"override_reason": reason})
    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    start = InfusionStart.objects.get(session=checked_in)
    assert start.override_by == clinician_user and start.override_reason == reason
    assert start.gate_failures and "140" in start.gate_failures[0]
    assert response.json()["transitions"][-1]["reason"] == reason


@pytest.mark.django_db
def test_start_records_the_dose_from_the_latest_weight(nurse_user, checked_in) -> None:
    vitals(nurse_user, checked_in)
    assert act(nurse_user, checked_in, "start").status_code == 200
    start = InfusionStart.objects.get(session=checked_in)
    # 0.5 mg/kg x 71.5 kg weighed at check-in (the intake weight was 70.0).
    assert (start.weight_kg, start.dose_mg) == (Decimal("71.5"), Decimal("35.75"))
    with pytest.raises(DatabaseError), transaction.atomic():
        InfusionStart.objects.filter(pk=start.pk).update(dose_mg=Decimal("50"))


@pytest.mark.django_db
def test_start_is_a_transition_like_any_other(nurse_user, checked_in) -> None:
    checked_in.status = SessionStatus.SCHEDULED
    checked_in.save()
    assert act(nurse_user, checked_in, "start").json()["code"] == "invalid_transition"


@pytest.mark.django_db
def test_stop_ends_early_with_a_reason_and_an_adverse_event(nurse_user, checked_in) -> None:
    vitals(nurse_user, checked_in)
    act(nurse_user, checked_in, "start")
    assert act(nurse_user, checked_in, "stop").status_code == 400
    response = act(
        nurse_user,
        checked_in,
        "stop",
        {
            "reason": "Severe dissociation",
            "adverse_event": {
                "kind": "dissociation",
                "severity": "severe",
                "action_taken": "Infusion stopped",
            },
        },
    )
    assert response.status_code == 200 and response.json()["status"] == "stopped"
    event = AdverseEvent.objects.get(session=checked_in)
    assert (event.kind, event.severity, event.recorded_by) == ("dissociation", "severe", nurse_user)


@pytest.mark.django_db
def test_adverse_events_are_recorded_and_listed(nurse_user, checked_in) -> None:
    nurse = client_for(nurse_user)
    path = f"/api/v1/sessions/{checked_in.pk}/adverse-events/"
    created = nurse.post(
        path,
        {"kind": "nausea", "severity": "mild", "action_taken": "Ondansetron 4 mg"},
        format="json",
    )
    assert created.status_code == 201
    assert (
        nurse.post(path, {"kind": "hiccups", "severity": "mild"}, format="json").status_code == 400
    )
    assert [e["kind"] for e in nurse.get(path).json()["results"]] == ["nausea"]


def _in_recovery(nurse_user, session):
    """Start, run the whole infusion, complete; return when recovery is over."""
    vitals(nurse_user, session)
    assert act(nurse_user, session, "start").status_code == 200
    session.refresh_from_db()
    ended = session.started_at + timedelta(minutes=session.protocol.infusion_minutes)
    with time_machine.travel(ended):
        assert act(nurse_user, session, "complete").status_code == 200
    return ended + timedelta(minutes=session.protocol.recovery_minutes)


@pytest.mark.django_db
def test_discharge_when_every_criterion_is_met(nurse_user, checked_in) -> None:
    ready = _in_recovery(nurse_user, checked_in)
    with time_machine.travel(ready):
        vitals(nurse_user, checked_in, taken_at=timezone.now().isoformat())
        response = act(nurse_user, checked_in, "discharge")
    assert response.status_code == 200 and response.json()["status"] == "discharged"
    assert response.json()["discharge_arrangement"] == "home_with_escort"


@pytest.mark.django_db
def test_discharge_is_refused_naming_each_failed_criterion(nurse_user, checked_in) -> None:
    ready = _in_recovery(nurse_user, checked_in)
    with time_machine.travel(ready):
        high = vitals(nurse_user, checked_in, systolic=185, taken_at=timezone.now().isoformat())
        vital_readings_flag(reading_ids=[high["id"]])
        InfusionSession.objects.filter(pk=checked_in.pk).update(escort_confirmed=False)
        response = act(nurse_user, checked_in, "discharge")
    assert response.status_code == 409 and response.json()["code"] == "discharge_criteria_unmet"
    failures = " ".join(response.json()["failures"])
    assert "warning limits" in failures and "critical alert" in failures and "escort" in failures
    assert response.json()["criteria"] == ["vitals_in_limits", "open_critical_alert", "escort"]


@pytest.mark.django_db
def test_discharge_needs_a_reading_from_the_last_15_minutes(nurse_user, checked_in) -> None:
    ready = _in_recovery(nurse_user, checked_in)
    with time_machine.travel(ready):
        vitals(nurse_user, checked_in, taken_at=timezone.now().isoformat())
    with time_machine.travel(ready + timedelta(minutes=15, seconds=1)):
        response = act(nurse_user, checked_in, "discharge")
    assert response.status_code == 409 and "15 minutes" in " ".join(response.json()["failures"])
    assert response.json()["criteria"] == ["vitals_recent", "consciousness"]


@pytest.mark.django_db
def test_the_summary_is_the_monitoring_record(nurse_user, checked_in) -> None:
    baseline = vitals(nurse_user, checked_in, systolic=128)
    act(nurse_user, checked_in, "start")
    checked_in.refresh_from_db()
    peak_at = checked_in.started_at + timedelta(minutes=40)
    with time_machine.travel(peak_at):
        peak = vitals(nurse_user, checked_in, systolic=165, taken_at=peak_at.isoformat())
        vital_readings_flag(reading_ids=[peak["id"]])
    summary = client_for(nurse_user).get(f"/api/v1/sessions/{checked_in.pk}/summary/").json()
    assert summary["dose"]["dose_mg"] == "35.75"
    assert summary["baseline"]["id"] == baseline["id"]
    assert summary["peak"]["systolic"]["id"] == peak["id"]
    assert summary["reading_at_40_minutes"]["id"] == peak["id"]
    assert [a["parameter"] for a in summary["alerts"]] == ["systolic"]
    assert summary["monitored_minutes"] >= 40 and summary["times"]["started_at"]


@pytest.mark.django_db
def test_the_chart_is_an_svg_with_the_readings(nurse_user, checked_in) -> None:
    vitals(nurse_user, checked_in, systolic=135)
    assert act(nurse_user, checked_in, "start").status_code == 200
    response = client_for(nurse_user).get(f"/api/v1/sessions/{checked_in.pk}/chart.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)  # noqa: S314 - our own server's output
    assert root.tag.endswith("svg")
    assert b"infusion" in response.content and b"Systolic (mmHg)" in response.content
    assert client_for(nurse_user).get("/api/v1/sessions/999999/chart.svg").status_code == 404


@pytest.mark.django_db
def test_alerts_refuse_to_change_what_they_say(nurse_user, checked_in) -> None:
    high = vitals(nurse_user, checked_in, systolic=185)
    vital_readings_flag(reading_ids=[high["id"]])
    rows = Alert.objects.filter(reading_id=high["id"])
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.update(severity="warning")
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.delete()


@pytest.mark.django_db
def test_readings_after_the_start_are_flagged_against_the_baseline_as_they_are_entered(
    nurse_user, checked_in
) -> None:
    vitals(nurse_user, checked_in, systolic=120, diastolic=78)
    assert act(nurse_user, checked_in, "start").status_code == 200
    risen = client_for(nurse_user).post(
        f"/api/v1/sessions/{checked_in.pk}/vitals/",
        reading(systolic=160, diastolic=80),
        format="json",
    )
    assert risen.status_code == 201
    assert [f["parameter"] for f in risen.json()["flags"]] == ["baseline_rise"]
    # Judged against the baseline under the session's lock, the reading goes to the flagging
    # task (it is not settled as normal), which raises its alert.
    stored = VitalReading.objects.get(pk=risen.json()["id"])
    assert stored.flagged_at is None
    vital_readings_flag(reading_ids=[stored.pk])
    assert Alert.objects.get(reading=stored).parameter == "baseline_rise"
    listed = client_for(nurse_user).get(f"/api/v1/sessions/{checked_in.pk}/vitals/").json()
    assert [f["parameter"] for f in listed["results"][-1]["flags"]] == ["baseline_rise"]
