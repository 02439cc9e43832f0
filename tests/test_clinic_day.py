"""A whole clinic day through the API, on the demo data's shape (`seed_demo`), as each role
would do it (issue 13): the scheduler books a first infusion, the patient's baseline
questionnaires exist at once, the nurse checks in, records a baseline, starts; a critical
reading pages the clinician, who acknowledges it; the infusion runs its minutes, recovery its
own; the nurse confirms the escort and discharges; the follow-up link points at this server and
the patient answers it; the clinician reads the answers and the outcomes. The beat's sweeps are
called as beat would call them, at the moments of the day time-machine moves to."""

import io
import uuid
from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from clinic.models import Clinic, Notification, Patient
from monitoring.models import Alert, Survey
from monitoring.services import vital_readings_flag_unflagged
from tests.factories import next_weekday_at


def login(username: str) -> APIClient:
    client = APIClient()
    response = client.post(
        "/api/v1/auth/login/", {"username": username, "password": "demo"}, format="json"
    )
    assert response.status_code == 200, response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    return client


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, (response.status_code, response.json())
    return response.json()


@pytest.mark.django_db
def test_a_clinic_day_from_booking_to_the_follow_up_link() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    clinic = Clinic.objects.get(name="Demo Infusion Clinic")
    nine = next_weekday_at(9)
    morning = nine - timedelta(minutes=50)  # tokens idle out after 60 minutes

    with time_machine.travel(morning, tick=False) as clock:
        scheduler, nurse = login("scheduler"), login("nurse")
        patient = Patient.objects.get(first_name="Alex")
        protocol = next(
            p
            for p in ok(scheduler.get("/api/v1/protocols/"))["results"]
            if p["infusion_minutes"] == 40
        )
        day = nine.astimezone(clinic.zone).date()
        slots = ok(
            scheduler.get(
                f"/api/v1/availability/?clinic={clinic.pk}&protocol={protocol['id']}"
                f"&date={day}&patient={patient.pk}"
            )
        )["results"]
        slot = next(s for s in slots if datetime.fromisoformat(s["starts_at"]) == nine)
        session = ok(
            scheduler.post(
                "/api/v1/sessions/",
                {
                    "patient": patient.pk,
                    "protocol": protocol["id"],
                    "chair": slot["chair"],
                    "starts_at": slot["starts_at"],
                },
                format="json",
            ),
            201,
        )
        assert session["patient_name"] == "Alex Rivera" and session["chair_name"].startswith(
            "Chair"
        )
        # The first booking has its baseline questionnaires at once.
        assert Survey.objects.filter(patient=patient, source="baseline").count() == 2
        # A second infusion the same afternoon is refused: infusions start 24 hours apart.
        afternoon = ok(
            scheduler.post(
                "/api/v1/sessions/",
                {
                    "patient": patient.pk,
                    "protocol": protocol["id"],
                    "chair": slot["chair"],
                    "starts_at": (nine + timedelta(hours=5)).isoformat(),
                },
                format="json",
            ),
            409,
        )
        assert afternoon["conflict"] == "patient_interval"

        sid = session["id"]
        clock.move_to(nine - timedelta(minutes=20))
        ok(
            nurse.post(
                f"/api/v1/sessions/{sid}/check-in/",
                {"fasting_confirmed": True, "escort_confirmed": False, "weight_kg": "72.0"},
                format="json",
            )
        )

        def reading(**values):
            body = {
                "id": str(uuid.uuid4()),
                "taken_at": datetime.now(tz=clinic.zone).isoformat(),
                "systolic": 124,
                "diastolic": 78,
                "heart_rate": 70,
                "spo2": 98,
                "respiratory_rate": 14,
                "temperature_c": "36.7",
                "consciousness": "alert",
                **values,
            }
            return ok(nurse.post(f"/api/v1/sessions/{sid}/vitals/", body, format="json"), 201)

        reading()
        clock.move_to(nine)
        started = ok(nurse.post(f"/api/v1/sessions/{sid}/start/", {}, format="json"))
        assert started["status"] == "in_progress"

        clock.move_to(nine + timedelta(minutes=15))
        reading(systolic=150)
        clock.move_to(nine + timedelta(minutes=30))
        critical = reading(spo2=90)
        assert {"parameter": "spo2", "severity": "critical"} in [
            {k: f[k] for k in ("parameter", "severity")} for f in critical["flags"]
        ]
        clock.move_to(nine + timedelta(minutes=30, seconds=5))
        vital_readings_flag_unflagged()  # what beat's sweep (or the task) does
        alert = Alert.objects.get(reading_id=critical["id"], parameter="spo2")
        assert clinician_id_in(alert.paged)
        clinician = login("clinician")  # paged: opens the app
        listed = ok(clinician.get("/api/v1/alerts/?status=open&severity=critical"))["results"]
        assert [a["id"] for a in listed] == [alert.pk] and listed[0]["paged"]
        ok(
            clinician.post(
                f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "O2 2 L"}, format="json"
            )
        )
        clock.move_to(nine + timedelta(minutes=40))
        reading()
        ok(nurse.post(f"/api/v1/sessions/{sid}/complete/", {}, format="json"))

        clock.move_to(nine + timedelta(minutes=55))
        reading()
        refused = ok(nurse.post(f"/api/v1/sessions/{sid}/discharge/", {}, format="json"), 409)
        assert refused["criteria"] == ["recovery_time", "escort"]
        ok(nurse.post(f"/api/v1/sessions/{sid}/confirm-escort/", {"name": "Sam"}, format="json"))
        clock.move_to(nine + timedelta(minutes=71))
        reading()
        discharged = ok(nurse.post(f"/api/v1/sessions/{sid}/discharge/", {}, format="json"))
        assert discharged["status"] == "discharged"

    # The follow-up PHQ-9 is in the outbox, its link on this server; the patient answers it.
    phq9 = Survey.objects.get(patient=patient, source="follow_up", instrument="phq9")
    link = Notification.objects.get(survey=phq9.pk, kind="survey_link")
    url = next(word for word in link.body.split() if "/s/" in word)
    assert url.startswith(f"{settings.PUBLIC_BASE_URL}/s/")
    token = url.rstrip("/").split("/")[-1]
    with time_machine.travel(phq9.due_at + timedelta(hours=1), tick=False):
        answered = ok(
            APIClient().post(
                f"/api/v1/public/surveys/{token}/",
                {"answers": [1, 1, 1, 0, 1, 0, 0, 0, 0]},
                format="json",
            ),
            201,
        )
        assert answered["total_score"] == 4
        outcomes = ok(login("clinician").get(f"/api/v1/patients/{patient.pk}/outcomes/"))
        assert outcomes["phq9"]["latest"] == 4


def clinician_id_in(paged: list[int]) -> bool:
    from clinic.models import User

    return User.objects.get(username="clinician").pk in paged
