"""Clinic set-up through the API: clinics, chairs, staff, patients, protocols (API.md)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import AuditEvent, Chair, Clinic, Patient, Protocol, Role, User
from tests.factories import ChairFactory, PatientFactory, ProtocolFactory

CLINIC = {
    "name": "Lakeside Infusions",
    "timezone": "America/New_York",
    "opening_time": "08:00",
    "closing_time": "18:00",
    "open_weekdays": [0, 1, 2, 3, 4],
}
PATIENT = {
    "first_name": "Alex",
    "last_name": "Rivera",
    "date_of_birth": "1985-04-12",
    "email": "alex@example.com",
    "phone": "+15551230001",
    "weight_kg": "72.5",
    "preferred_channel": "sms",
}
PROTOCOL = {
    "name": "IV ketamine 0.5 mg/kg",
    "route": "iv",
    "dose_mg_per_kg": "0.50",
    "infusion_minutes": 40,
    "prep_minutes": 15,
    "recovery_minutes": 30,
    "vitals_interval_minutes": 15,
}


# --- Clinics ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_creates_a_clinic_and_runs_it(api_as) -> None:
    admin = api_as("admin", clinics=[])
    response = admin.post("/api/v1/clinics/", CLINIC, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] and body["timezone"] == "America/New_York"
    assert body["opening_time"] == "08:00:00" and body["open_weekdays"] == [0, 1, 2, 3, 4]
    assert admin.user.clinics.filter(pk=body["id"]).exists()
    assert admin.get(f"/api/v1/clinics/{body['id']}/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "EST5EDT-but-wrong"}, "timezone"),
        ({"opening_time": "25:00"}, "opening_time"),
        ({"closing_time": "07:00"}, "closing_time"),
        ({"open_weekdays": [0, 7]}, "open_weekdays"),
        ({"open_weekdays": []}, "open_weekdays"),
        ({"open_weekdays": "weekdays"}, "open_weekdays"),
        ({"name": "x" * 201}, "name"),
        ({"name": None}, "name"),
    ],
)
def test_a_bad_clinic_is_400_naming_the_field(api_as, change, field) -> None:
    admin = api_as("admin")
    before = Clinic.objects.count()
    response = admin.post("/api/v1/clinics/", {**CLINIC, **change}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["fields"]
    assert Clinic.objects.count() == before


# --- Chairs and staff ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_adds_chairs_to_their_clinic_only(api_as, clinic, other_clinic) -> None:
    admin = api_as("admin")
    response = admin.post(
        "/api/v1/chairs/", {"clinic": clinic.pk, "name": "Chair A"}, format="json"
    )
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"],
        "clinic": clinic.pk,
        "name": "Chair A",
        "is_active": True,
    }
    duplicate = admin.post(
        "/api/v1/chairs/", {"clinic": clinic.pk, "name": "Chair A"}, format="json"
    )
    assert duplicate.status_code == 400 and "name" in duplicate.json()["fields"]
    foreign = admin.post(
        "/api/v1/chairs/", {"clinic": other_clinic.pk, "name": "Chair B"}, format="json"
    )
    assert foreign.status_code == 400 and "clinic" in foreign.json()["fields"]
    assert not Chair.objects.filter(clinic=other_clinic).exists()


@pytest.mark.django_db
def test_an_admin_creates_staff_with_a_valid_password(api_as, clinic) -> None:
    admin = api_as("admin")
    payload = {
        "username": "nina",
        "password": "a-long-and-unusual-passphrase",
        "role": "nurse",
        "clinics": [clinic.pk],
        "first_name": "Nina",
        "last_name": "Ortiz",
        "email": "nina@example.com",
        "phone": "+15551239999",
    }
    response = admin.post("/api/v1/staff/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "password" not in body and body["role"] == "nurse" and body["clinics"] == [clinic.pk]
    nina = User.objects.get(username="nina")
    assert nina.check_password("a-long-and-unusual-passphrase")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "password"}, "password"),  # common
        ({"password": "12345678901"}, "password"),  # numeric
        ({"password": "short"}, "password"),  # too short
        ({"role": "patient"}, "role"),
        ({"role": "overlord"}, "role"),
        ({"clinics": []}, "clinics"),
        ({"phone": "555-1234"}, "phone"),
        ({"username": "has spaces"}, "username"),
    ],
)
def test_bad_staff_is_400(api_as, clinic, change, field) -> None:
    admin = api_as("admin")
    payload = {
        "username": "nina",
        "password": "a-long-and-unusual-passphrase",
        "role": "nurse",
        "clinics": [clinic.pk],
    }
    response = admin.post("/api/v1/staff/", {**payload, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not User.objects.filter(username="nina").exists()


# --- Patients ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_scheduler_registers_a_patient(api_as, clinic) -> None:
    scheduler = api_as("scheduler")
    response = scheduler.post(
        "/api/v1/patients/",
        {**PATIENT, "clinic": clinic.pk, "contraindications": ["pregnancy"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["weight_kg"] == "72.5" and body["clinic"] == clinic.pk
    assert (
        body["contraindications"] == ["pregnancy"] and body["contraindications_unreviewed"] is True
    )
    patient = Patient.objects.get(pk=body["id"])
    assert patient.created_by == scheduler.user
    assert AuditEvent.objects.filter(
        action="create", patient=patient, actor=scheduler.user
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weight_kg": "19.9"}, "weight_kg"),
        ({"weight_kg": "400.1"}, "weight_kg"),
        ({"weight_kg": "heavy"}, "weight_kg"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "12/04/1985"}, "date_of_birth"),
        ({"preferred_channel": "pigeon"}, "preferred_channel"),
        ({"preferred_channel": "sms", "phone": ""}, "phone"),
        ({"preferred_channel": "email", "email": ""}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"contraindications": ["fear_of_needles"]}, "contraindications"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"first_name": ["Alex"]}, "first_name"),
        ({"first_name": "nul\x00byte"}, "first_name"),
        ({"clinic": "one"}, "clinic"),
        ({"clinic": 10**20}, "clinic"),
    ],
)
def test_a_bad_patient_is_400_and_nothing_is_stored(api_as, clinic, change, field) -> None:
    scheduler = api_as("scheduler")
    response = scheduler.post(
        "/api/v1/patients/", {**PATIENT, "clinic": clinic.pk, **change}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_patients_of_another_clinic_do_not_exist_for_you(api_as, clinic, other_clinic) -> None:
    mine = PatientFactory.create(clinic=clinic)
    theirs = PatientFactory.create(clinic=other_clinic)
    nurse = api_as("nurse")
    assert nurse.get(f"/api/v1/patients/{mine.pk}/").status_code == 200
    response = nurse.get(f"/api/v1/patients/{theirs.pk}/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found."}
    listed = [row["id"] for row in nurse.get("/api/v1/patients/").json()["results"]]
    assert listed == [mine.pk]


@pytest.mark.django_db
def test_a_patient_sees_only_themself(api_as, clinic, make_user) -> None:
    user = make_user(role=Role.PATIENT)
    me = PatientFactory.create(clinic=clinic, user=user)
    someone_else = PatientFactory.create(clinic=clinic)
    from tests.conftest import client_for

    patient = client_for(user)
    assert patient.get(f"/api/v1/patients/{me.pk}/").status_code == 200
    assert patient.get(f"/api/v1/patients/{someone_else.pk}/").status_code == 404
    assert [row["id"] for row in patient.get("/api/v1/patients/").json()["results"]] == [me.pk]


@pytest.mark.django_db
def test_every_patient_read_is_audited(api_as, clinic) -> None:
    patients = [PatientFactory.create(clinic=clinic) for _ in range(3)]
    nurse = api_as("nurse")
    nurse.get(f"/api/v1/patients/{patients[0].pk}/", REMOTE_ADDR="10.2.3.4")
    event = AuditEvent.objects.get(action="read", patient=patients[0])
    assert (event.actor, event.role, event.object_type, event.ip) == (
        nurse.user,
        "nurse",
        "patient",
        "10.2.3.4",
    )
    nurse.get("/api/v1/patients/")
    assert AuditEvent.objects.filter(action="read", actor=nurse.user).count() == 1 + 3


@pytest.mark.django_db
def test_the_patient_list_pages_with_a_bounded_size(api_as, clinic) -> None:
    for _ in range(5):
        PatientFactory.create(clinic=clinic)
    nurse = api_as("nurse")
    first = nurse.get("/api/v1/patients/?page_size=2").json()
    assert set(first) == {"results", "next"} and len(first["results"]) == 2
    second = nurse.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert not {p["id"] for p in first["results"]} & {p["id"] for p in second["results"]}
    for bad in ("0", "201", "ten"):
        response = nurse.get(f"/api/v1/patients/?page_size={bad}")
        assert response.status_code == 400 and "page_size" in response.json()["fields"]
    bad_cursor = nurse.get("/api/v1/patients/?cursor=garbage")
    assert bad_cursor.status_code == 400 and "cursor" in bad_cursor.json()["fields"]


# --- Protocols ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_clinician_creates_a_protocol_and_sees_its_effective_thresholds(api_as, clinic) -> None:
    clinician = api_as("clinician")
    overrides = {"vitals": {"systolic": {"warning": {"above": 150, "at_or_below": 100}}}}
    response = clinician.post(
        "/api/v1/protocols/", {**PROTOCOL, "thresholds": overrides}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["clinic"] == clinic.pk  # their only clinic
    assert body["threshold_overrides"] == overrides
    fetched = clinician.get(f"/api/v1/protocols/{body['id']}/").json()
    assert fetched["thresholds"]["vitals"]["systolic"]["warning"] == {
        "above": 150,
        "at_or_below": 100,
    }
    assert fetched["thresholds"]["vitals"]["diastolic"]["critical"] == {"at_or_above": 110}
    assert fetched["thresholds"]["pre_start_gate"] == {"systolic_above": 140, "diastolic_above": 90}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"infusion_minutes": 39}, "infusion_minutes"),
        ({"infusion_minutes": 61}, "infusion_minutes"),
        ({"vitals_interval_minutes": 4}, "vitals_interval_minutes"),
        ({"vitals_interval_minutes": 31}, "vitals_interval_minutes"),
        ({"route": "inhaled"}, "route"),
        ({"dose_mg_per_kg": "0"}, "dose_mg_per_kg"),
        ({"dose_mg_per_kg": "NaN"}, "dose_mg_per_kg"),
        (
            {"thresholds": {"vitals": {"systolic": {"critical": {"at_or_above": 120}}}}},
            "thresholds",
        ),
        ({"thresholds": ["not", "an", "object"]}, "thresholds"),
    ],
)
def test_a_bad_protocol_is_400(api_as, change, field) -> None:
    clinician = api_as("clinician")
    response = clinician.post("/api/v1/protocols/", {**PROTOCOL, **change}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not Protocol.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("minutes", [40, 60])
def test_iv_protocols_at_40_and_60_minutes_are_accepted(api_as, minutes) -> None:
    response = api_as("clinician").post(
        "/api/v1/protocols/", {**PROTOCOL, "infusion_minutes": minutes}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.django_db
def test_an_intranasal_protocol_is_not_held_to_the_iv_range(api_as) -> None:
    payload = {**PROTOCOL, "route": "intranasal", "infusion_minutes": 5, "recovery_minutes": 120}
    assert api_as("clinician").post("/api/v1/protocols/", payload, format="json").status_code == 201


@pytest.mark.django_db
def test_an_intranasal_protocol_observes_for_at_least_two_hours(api_as) -> None:
    payload = {**PROTOCOL, "route": "intranasal", "infusion_minutes": 5, "recovery_minutes": 119}
    response = api_as("clinician").post("/api/v1/protocols/", payload, format="json")
    assert response.status_code == 400 and "recovery_minutes" in response.json()["fields"]


@pytest.mark.django_db
def test_a_clinician_of_two_clinics_must_say_which(api_as, clinic, other_clinic) -> None:
    clinician = api_as("clinician", clinics=[clinic, other_clinic])
    response = clinician.post("/api/v1/protocols/", PROTOCOL, format="json")
    assert response.status_code == 400 and "clinic" in response.json()["fields"]
    chosen = clinician.post(
        "/api/v1/protocols/", {**PROTOCOL, "clinic": other_clinic.pk}, format="json"
    )
    assert chosen.status_code == 201 and chosen.json()["clinic"] == other_clinic.pk


# --- Query counts: lists do not grow with rows ---------------------------------------------------


LISTS = [
    "/api/v1/clinics/",
    "/api/v1/chairs/",
    "/api/v1/staff/",
    "/api/v1/patients/",
    "/api/v1/protocols/",
    "/api/v1/audit-events/",
]


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.django_db
@pytest.mark.parametrize("url", LISTS)
def test_list_query_counts_do_not_grow_with_rows(api_as, clinic, make_user, url) -> None:
    admin = api_as("admin")
    _queries(admin, url)  # warm up: the token's last-use refresh happens once

    def add_rows() -> None:
        for _ in range(3):
            ChairFactory.create(clinic=clinic)
            PatientFactory.create(clinic=clinic)
            ProtocolFactory.create(clinic=clinic)
            make_user(clinics=[clinic])

    add_rows()
    few = _queries(admin, url)
    for _ in range(4):
        add_rows()
    assert _queries(admin, url) == few
