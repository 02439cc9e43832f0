"""Vitals ingest (API.md "Vitals"): plausibility, batches all-or-nothing, idempotent replays,
the flags in the response, corrections, and the append-only table."""

import json
import uuid
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from clinic.models import AuditEvent
from monitoring.apis import VitalReadingOutputSerializer, readings_json
from monitoring.models import VitalReading
from monitoring.services import vital_readings_flag
from scheduling.models import SessionStatus
from tests.conftest import client_for
from tests.factories import PatientFactory, SessionFactory

from .conftest import reading


def url(session) -> str:
    return f"/api/v1/sessions/{session.pk}/vitals/"


@pytest.fixture
def nurse(nurse_user):
    return client_for(nurse_user)


@pytest.mark.django_db
def test_one_reading_is_stored_and_answered_with_its_flags(nurse, checked_in, nurse_user) -> None:
    payload = reading(systolic=185, diastolic=95, heart_rate=112)
    response = nurse.post(url(checked_in), payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] == payload["id"] and body["systolic"] == 185
    assert body["recorded_by"] == nurse_user.pk and body["received_at"]
    flags = {(f["parameter"], f["severity"]) for f in body["flags"]}
    assert flags == {("systolic", "critical"), ("heart_rate", "warning")}
    assert VitalReading.objects.get(pk=payload["id"]).session_id == checked_in.pk


@pytest.mark.django_db
def test_a_normal_reading_has_no_flags(nurse, checked_in) -> None:
    response = nurse.post(url(checked_in), reading(), format="json")
    assert response.status_code == 201 and response.json()["flags"] == []


@pytest.mark.django_db
def test_a_batch_is_stored_and_listed_in_taken_at_order(nurse, checked_in) -> None:
    now = timezone.now()
    batch = [reading(taken_at=(now - timedelta(minutes=m)).isoformat()) for m in (3, 9, 6)]
    response = nurse.post(url(checked_in), batch, format="json")
    assert response.status_code == 201 and len(response.json()) == 3
    listed = nurse.get(url(checked_in)).json()["results"]
    assert [r["id"] for r in listed] == [batch[1]["id"], batch[2]["id"], batch[0]["id"]]


@pytest.mark.django_db
def test_a_replay_is_200_and_stores_nothing_twice(nurse, checked_in) -> None:
    payload = reading()
    assert nurse.post(url(checked_in), payload, format="json").status_code == 201
    again = nurse.post(url(checked_in), payload, format="json")
    assert again.status_code == 200 and again.json()["id"] == payload["id"]
    assert VitalReading.objects.count() == 1


@pytest.mark.django_db
def test_an_upload_leaves_one_audit_event_naming_the_readings_it_stored(
    nurse, checked_in, nurse_user
) -> None:
    assert nurse.post(url(checked_in), reading(), format="json").status_code == 201
    batch = [reading(), reading(), reading()]
    assert nurse.post(url(checked_in), batch, format="json").status_code == 201
    assert nurse.post(url(checked_in), batch, format="json").status_code == 200
    assert nurse.post(url(checked_in), [*batch, reading()], format="json").status_code == 201
    events = list(AuditEvent.objects.filter(object_type="vital_readings").order_by("pk"))
    assert [e.action for e in events] == ["create", "create", "read", "create", "read"]
    for event in events:
        assert (event.actor, event.role, event.object_id) == (
            nurse_user,
            "nurse",
            str(checked_in.pk),
        )
        assert event.patient_id == checked_in.patient_id and event.ip == "127.0.0.1"
    stored = VitalReading.objects.filter(
        session=checked_in, recorded_by=nurse_user, received_at=events[1].at
    )
    assert {str(r.pk) for r in stored} == {r["id"] for r in batch}


@pytest.mark.django_db
def test_a_replayed_batch_and_a_partly_new_batch(nurse, checked_in) -> None:
    batch = [reading(), reading()]
    assert nurse.post(url(checked_in), batch, format="json").status_code == 201
    assert nurse.post(url(checked_in), batch, format="json").status_code == 200
    grown = [*batch, reading()]
    response = nurse.post(url(checked_in), grown, format="json")
    assert response.status_code == 201 and [r["id"] for r in response.json()] == [
        r["id"] for r in grown
    ]
    assert VitalReading.objects.count() == 3


@pytest.mark.django_db
def test_the_same_id_with_other_content_is_409(nurse, checked_in) -> None:
    payload = reading()
    nurse.post(url(checked_in), payload, format="json")
    response = nurse.post(url(checked_in), {**payload, "systolic": 121}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_conflict"
    assert VitalReading.objects.get().systolic == 120


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("systolic", 49),
        ("systolic", 301),
        ("systolic", "high"),
        ("systolic", 120.5),
        ("diastolic", 19),
        ("diastolic", 201),
        ("heart_rate", 19),
        ("heart_rate", 251),
        ("spo2", 49),
        ("spo2", 101),
        ("respiratory_rate", 3),
        ("respiratory_rate", 61),
        ("temperature_c", "29.9"),
        ("temperature_c", "45.1"),
        ("temperature_c", "36.55"),
        ("consciousness", "asleep"),
        ("on_oxygen", "sometimes"),
        ("id", "not-a-uuid"),
        ("taken_at", "yesterday"),
        ("device_id", "x" * 101),
        ("systolic", 10**20),
    ],
)
def test_an_implausible_value_is_400_and_nothing_is_stored(nurse, checked_in, field, value) -> None:
    response = nurse.post(url(checked_in), reading(**{field: value}), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not VitalReading.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"diastolic": 120, "systolic": 120}, "diastolic"),
        # Six minutes ahead of when the test runs, not of when it was collected: a long run
        # would otherwise bring that moment within the 5 minutes allowed.
        ({"taken_at": lambda: (timezone.now() + timedelta(minutes=6)).isoformat()}, "taken_at"),
        ({"taken_at": "2030-01-01T10:00:00"}, "taken_at"),
    ],
)
def test_inconsistent_readings_are_400(nurse, checked_in, values, field) -> None:
    values = {name: value() if callable(value) else value for name, value in values.items()}
    response = nurse.post(url(checked_in), reading(**values), format="json")
    assert response.status_code == 400 and field in response.json()["fields"]


@pytest.mark.django_db
def test_a_reading_with_no_measurement_is_400(nurse, checked_in) -> None:
    empty = {"id": str(uuid.uuid4()), "taken_at": timezone.now().isoformat()}
    response = nurse.post(url(checked_in), empty, format="json")
    assert response.status_code == 400
    assert VitalReading.objects.count() == 0


@pytest.mark.django_db
def test_a_batch_with_one_bad_reading_stores_none(nurse, checked_in) -> None:
    batch = [reading(), reading(spo2=120), reading()]
    response = nurse.post(url(checked_in), batch, format="json")
    assert response.status_code == 400
    assert "1.spo2" in response.json()["fields"]
    assert not VitalReading.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [[], "reading", 42, [1, 2]])
def test_malformed_batches_are_400(nurse, checked_in, payload) -> None:
    assert nurse.post(url(checked_in), payload, format="json").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status", [SessionStatus.SCHEDULED, SessionStatus.DISCHARGED, SessionStatus.CANCELLED]
)
def test_vitals_only_while_checked_in_to_recovery(nurse, checked_in, status) -> None:
    checked_in.status = status
    checked_in.save()
    response = nurse.post(url(checked_in), reading(), format="json")
    assert response.status_code == 409 and response.json()["code"] == "session_not_active"


@pytest.mark.django_db
def test_another_clinics_nurse_gets_404(api_as, checked_in, other_clinic) -> None:
    stranger = api_as("nurse", clinics=[other_clinic])
    assert stranger.post(url(checked_in), reading(), format="json").status_code == 404
    assert stranger.get(url(checked_in)).status_code == 404


@pytest.mark.django_db
def test_a_batch_costs_the_same_queries_at_5_or_50_readings(nurse, checked_in) -> None:
    nurse.post(url(checked_in), reading(), format="json")  # warm-up

    def cost(size: int) -> int:
        batch = [reading() for _ in range(size)]
        with CaptureQueriesContext(connection) as captured:
            assert nurse.post(url(checked_in), batch, format="json").status_code == 201
        return len(captured)

    assert cost(5) == cost(50)


@pytest.mark.django_db
def test_a_correction_supersedes_and_never_overwrites(nurse, checked_in) -> None:
    wrong = reading(systolic=210)
    nurse.post(url(checked_in), wrong, format="json")
    fix = reading(systolic=130, supersedes=wrong["id"])
    response = nurse.post(url(checked_in), fix, format="json")
    assert response.status_code == 201 and response.json()["supersedes"] == wrong["id"]
    assert VitalReading.objects.get(pk=wrong["id"]).systolic == 210  # kept as it was
    twice = nurse.post(url(checked_in), reading(supersedes=wrong["id"]), format="json")
    assert twice.status_code == 409
    unknown = nurse.post(url(checked_in), reading(supersedes=str(uuid.uuid4())), format="json")
    assert unknown.status_code == 400 and "supersedes" in unknown.json()["fields"]


@pytest.mark.django_db
def test_a_correction_of_another_sessions_reading_is_400(
    nurse, checked_in, clinic, nurse_user
) -> None:
    other = SessionFactory.create(
        patient=PatientFactory.create(clinic=clinic),
        status=SessionStatus.CHECKED_IN,
        starts_at=checked_in.starts_at + timedelta(hours=3),
    )
    theirs = reading()
    nurse.post(url(other), theirs, format="json")
    response = nurse.post(url(checked_in), reading(supersedes=theirs["id"]), format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_database_refuses_to_change_or_delete_a_reading(nurse, checked_in) -> None:
    payload = reading()
    nurse.post(url(checked_in), payload, format="json")
    rows = VitalReading.objects.filter(pk=payload["id"])
    with pytest.raises(DatabaseError, match="never changed"), transaction.atomic():
        rows.update(systolic=150)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        rows.delete()
    rows.update(flags=[{"parameter": "x"}], flagged_at=timezone.now())  # the flagging columns may
    assert rows.get().systolic == 120


@pytest.mark.django_db
def test_readings_json_writes_exactly_what_the_reading_serializer_would(
    nurse_user, checked_in
) -> None:
    """The ingest and list answers are written by readings_json (fast); the schema is the
    serializer's. Readings with every field, with none optional, corrected and flagged."""
    full = reading(device_id="tablet-7", temperature_c="37")
    sparse = reading(
        systolic=None,
        heart_rate=None,
        spo2=None,
        respiratory_rate=None,
        temperature_c=None,
        consciousness=None,
    )
    for payload in (full, sparse):
        assert (
            client_for(nurse_user)
            .post(f"/api/v1/sessions/{checked_in.pk}/vitals/", payload, format="json")
            .status_code
            == 201
        )
    correction = reading(systolic=190, supersedes=full["id"])
    client_for(nurse_user).post(
        f"/api/v1/sessions/{checked_in.pk}/vitals/", correction, format="json"
    )
    vital_readings_flag(reading_ids=[correction["id"]])
    readings = list(VitalReading.objects.filter(session=checked_in).order_by("taken_at"))
    assert len(readings) == 3
    fast = readings_json(readings)
    slow = VitalReadingOutputSerializer(readings, many=True).data
    assert json.loads(JSONRenderer().render(fast)) == json.loads(JSONRenderer().render(slow))
    assert fast[0]["temperature_c"] == "37.0"
