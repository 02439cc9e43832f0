"""Issue 13 points 1-3 through the API: an unfit patient is not let go, an escort can be
confirmed later, a clinician may send a patient another way with a reason, an early end needs
a reason, and an unresponsive patient is flagged however incomplete the reading."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from clinic.models import Role
from monitoring.models import Alert
from monitoring.services import vital_readings_flag
from scheduling.models import InfusionSession, SessionTransition

from .conftest import act, reading, vitals


def started(nurse, session):
    vitals(nurse, session)
    assert act(nurse, session, "start").status_code == 200
    session.refresh_from_db()
    return session


@pytest.mark.django_db
def test_the_walkthrough_patient_cannot_be_discharged(nurse_user, checked_in) -> None:
    """Started, completed 42 ms later on a 40-minute protocol, one reading
    {"heart_rate": 72, "consciousness": "pain"}: the walk-through was let go with a 200."""
    started(nurse_user, checked_in)
    early = act(nurse_user, checked_in, "complete")
    assert early.status_code == 400 and "reason" in early.json()["fields"]
    assert act(nurse_user, checked_in, "complete", {"reason": "Nausea"}).status_code == 200
    transition = SessionTransition.objects.get(session=checked_in, action="complete")
    assert transition.reason == "Nausea" and transition.details["early_end"] is True
    flagged = vitals(
        nurse_user,
        checked_in,
        id=reading()["id"],
        taken_at=timezone.now().isoformat(),
        systolic=None,
        diastolic=None,
        spo2=None,
        respiratory_rate=None,
        temperature_c=None,
        heart_rate=72,
        consciousness="pain",
    )
    assert [(f["parameter"], f["severity"]) for f in flagged["flags"]] == [
        ("consciousness", "critical")
    ]
    vital_readings_flag(reading_ids=[flagged["id"]])
    assert Alert.objects.filter(session=checked_in, parameter="consciousness").exists()
    refused = act(nurse_user, checked_in, "discharge")
    assert refused.status_code == 409
    # (The baseline, a minute old, still counts as the recent full set.)
    assert refused.json()["criteria"] == ["recovery_time", "consciousness", "open_critical_alert"]


@pytest.mark.django_db
def test_a_complete_after_the_planned_minutes_needs_no_reason(nurse_user, checked_in) -> None:
    started(nurse_user, checked_in)
    with time_machine.travel(checked_in.started_at + timedelta(minutes=40)):
        assert act(nurse_user, checked_in, "complete").status_code == 200
    transition = SessionTransition.objects.get(session=checked_in, action="complete")
    assert transition.details["early_end"] is False and transition.reason == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("minutes_after_end", "ready"),
    [(29, False), (30, True)],
)
def test_recovery_time_is_the_protocols_minutes_after_the_infusion(
    nurse_user, checked_in, minutes_after_end, ready
) -> None:
    started(nurse_user, checked_in)
    ended = checked_in.started_at + timedelta(minutes=40)
    with time_machine.travel(ended):
        act(nurse_user, checked_in, "complete")
    with time_machine.travel(ended + timedelta(minutes=minutes_after_end)):
        vitals(nurse_user, checked_in, taken_at=timezone.now().isoformat())
        response = act(nurse_user, checked_in, "discharge")
    assert (response.status_code == 200) is ready, response.json()


@pytest.mark.django_db
def test_a_set_without_spo2_or_with_a_voice_response_is_not_enough(nurse_user, checked_in) -> None:
    started(nurse_user, checked_in)
    ended = checked_in.started_at + timedelta(minutes=40)
    with time_machine.travel(ended):
        act(nurse_user, checked_in, "complete")
    with time_machine.travel(ended + timedelta(minutes=31)):
        vitals(nurse_user, checked_in, taken_at=timezone.now().isoformat(), spo2=None)
        response = act(nurse_user, checked_in, "discharge")
        assert response.json()["criteria"] == ["vitals_recent"]
        assert "SpO2" in response.json()["failures"][0]
        vitals(nurse_user, checked_in, taken_at=timezone.now().isoformat(), consciousness="voice")
        response = act(nurse_user, checked_in, "discharge")
        assert response.json()["criteria"] == ["consciousness"]


@pytest.mark.django_db
def test_an_escort_confirmed_later_unblocks_discharge(
    nurse_user, make_user, clinic, checked_in
) -> None:
    InfusionSession.objects.filter(pk=checked_in.pk).update(escort_confirmed=False)
    started(nurse_user, checked_in)
    ended = checked_in.started_at + timedelta(minutes=40)
    with time_machine.travel(ended):
        act(nurse_user, checked_in, "complete")
    with time_machine.travel(ended + timedelta(minutes=31)):
        vitals(nurse_user, checked_in, taken_at=timezone.now().isoformat())
        assert act(nurse_user, checked_in, "discharge").json()["criteria"] == ["escort"]
        scheduler = make_user(role=Role.SCHEDULER, clinics=[clinic])
        assert act(scheduler, checked_in, "confirm-escort").status_code == 403
        confirmed = act(nurse_user, checked_in, "confirm-escort", {"name": "Sam", "phone": "+1555"})
        assert confirmed.status_code == 200
        body = confirmed.json()
        assert body["escort_confirmed"] is True and body["escort_name"] == "Sam"
        assert body["escort_confirmed_by"] == nurse_user.pk and body["escort_confirmed_at"]
        assert act(nurse_user, checked_in, "discharge").status_code == 200
    assert act(nurse_user, checked_in, "confirm-escort").json()["code"] == "invalid_transition"


@pytest.mark.django_db
def test_a_clinician_may_send_the_patient_another_way_with_a_reason(
    nurse_user, clinician_user, checked_in
) -> None:
    started(nurse_user, checked_in)
    act(nurse_user, checked_in, "complete", {"reason": "Chest pain"})
    ambulance = {"arrangement": "ambulance", "reason": "Chest pain: to the ED"}
    assert act(nurse_user, checked_in, "discharge", ambulance).status_code == 403
    no_reason = act(clinician_user, checked_in, "discharge", {"arrangement": "ambulance"})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["fields"]
    bad = act(clinician_user, checked_in, "discharge", {"arrangement": "taxi", "reason": "x"})
    assert bad.status_code == 400 and "arrangement" in bad.json()["fields"]
    response = act(clinician_user, checked_in, "discharge", ambulance)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["discharge_arrangement"], body["discharge_reason"]) == (
        "discharged",
        "ambulance",
        "Chest pain: to the ED",
    )
    transition = SessionTransition.objects.get(session=checked_in, action="discharge")
    assert "recovery_time" in transition.details["criteria_unmet"]
