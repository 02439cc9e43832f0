"""Issue 13, point 6: a clinic's closures through the API (GET|POST /clinics/{id}/closures/):
who may close the clinic, whose clinic, what input is refused, and one answer for a second
closure on a day whether the service's check or the database's constraint catches it."""

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from clinic.models import AuditEvent, ClinicClosure, Role
from clinic.services import CLOSURE_EXISTS, clinic_closure_create
from clinic.services import closures as closures_module
from config.api.exceptions import http_status
from config.errors import error_from_integrity_error
from tests.conftest import client_for
from tests.factories import PatientFactory, UserFactory, next_weekday_at

MONDAY = next_weekday_at(9).date()  # a weekday at least a week ahead (the clinic: Mon-Fri, 8-18)


def url(clinic) -> str:
    return f"/api/v1/clinics/{clinic.pk}/closures/"


def closure(**change: Any) -> dict[str, Any]:
    return {"date": MONDAY.isoformat(), "reason": "Christmas Day", **change}


# --- Creating and listing -----------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_closes_the_clinic_for_a_day(api_as, clinic) -> None:
    admin = api_as("admin")
    response = admin.post(url(clinic), closure(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        "id": body["id"],
        "clinic": clinic.pk,
        "date": MONDAY.isoformat(),
        "opens_at": None,
        "closes_at": None,
        "reason": "Christmas Day",
        "created_by": admin.user.pk,
        "created_at": body["created_at"],
    }
    stored = ClinicClosure.objects.get(pk=body["id"])
    assert (stored.clinic, stored.date, stored.opens_at, stored.created_by) == (
        clinic,
        MONDAY,
        None,
        admin.user,
    )
    assert AuditEvent.objects.filter(
        actor=admin.user, action="create", object_type="clinic_closure", object_id=str(stored.pk)
    ).exists()


@pytest.mark.django_db
def test_a_partial_closure_keeps_its_hours(api_as, clinic) -> None:
    response = api_as("admin").post(
        url(clinic),
        closure(opens_at="12:00", closes_at="16:30", reason="  Staff training  "),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["opens_at"], body["closes_at"], body["reason"]) == (
        "12:00:00",
        "16:30:00",
        "Staff training",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "scheduler", "nurse", "clinician", "superuser"])
def test_every_member_of_staff_sees_the_closures_by_date(api_as, clinic, role) -> None:
    for days in (14, 0, 7):
        ClinicClosure.objects.create(
            clinic=clinic, date=MONDAY + timedelta(days=days), reason=f"In {days} days"
        )
    response = api_as(role).get(url(clinic))
    assert response.status_code == 200, response.json()
    assert [row["reason"] for row in response.json()["results"]] == [
        "In 0 days",
        "In 7 days",
        "In 14 days",
    ]


@pytest.mark.django_db
def test_the_list_pages_by_date(api_as, clinic) -> None:
    for days in range(5):
        ClinicClosure.objects.create(clinic=clinic, date=MONDAY + timedelta(days=days), reason="x")
    nurse = api_as("nurse")
    first = nurse.get(url(clinic), {"page_size": 3}).json()
    second = nurse.get(first["next"]).json()
    dates = [row["date"] for row in first["results"] + second["results"]]
    assert dates == [(MONDAY + timedelta(days=days)).isoformat() for days in range(5)]
    assert second["next"] is None


@pytest.mark.django_db
def test_the_list_costs_the_same_for_1_or_20_closures(api_as, clinic) -> None:
    nurse = api_as("nurse")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert nurse.get(url(clinic)).status_code == 200
        return len(captured)

    ClinicClosure.objects.create(clinic=clinic, date=MONDAY, reason="x")
    queries()  # warm up: the token's last-use refresh happens once
    few = queries()
    for days in range(1, 20):
        ClinicClosure.objects.create(clinic=clinic, date=MONDAY + timedelta(days=days), reason="x")
    assert queries() == few


# --- Who may, and whose clinic ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["scheduler", "nurse", "clinician"])
def test_only_an_admin_may_close_the_clinic(api_as, clinic, role) -> None:
    response = api_as(role).post(url(clinic), closure(), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not ClinicClosure.objects.exists()


@pytest.mark.django_db
def test_a_superuser_may_close_any_clinic(api_as, other_clinic) -> None:
    assert api_as("superuser").post(url(other_clinic), closure(), format="json").status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_patient_sees_no_clinic(clinic, method) -> None:
    user = UserFactory.create(role=Role.PATIENT)
    PatientFactory.create(clinic=clinic, user=user)
    response = getattr(client_for(user), method)(url(clinic), closure(), format="json")
    assert response.status_code == 404
    assert not ClinicClosure.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "scheduler", "nurse", "clinician", "patient"])
def test_another_clinics_closures_are_not_found(api_as, other_clinic, role) -> None:
    ClinicClosure.objects.create(clinic=other_clinic, date=MONDAY, reason="Theirs")
    caller = api_as(role)
    assert caller.get(url(other_clinic)).json() == {"code": "not_found", "message": "Not found."}
    posted = caller.post(url(other_clinic), closure(date=str(MONDAY + timedelta(1))), format="json")
    assert posted.status_code == 404
    assert ClinicClosure.objects.count() == 1


@pytest.mark.django_db
def test_the_service_refuses_a_clinic_not_the_actors(clinic, other_clinic) -> None:
    from config.errors import NotFound

    admin = UserFactory.create(role=Role.ADMIN, clinics=[clinic])
    with pytest.raises(NotFound):
        clinic_closure_create(actor=admin, clinic=other_clinic, date=MONDAY, reason="No")


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"opens_at": "12:00"}, "closes_at", "Give both opens_at and closes_at"),
        ({"closes_at": "12:00"}, "opens_at", "Give both opens_at and closes_at"),
        ({"opens_at": "12:00", "closes_at": None}, "closes_at", "Give both"),
        ({"opens_at": "14:00", "closes_at": "12:00"}, "closes_at", "Must be after opens_at."),
        ({"opens_at": "12:00", "closes_at": "12:00"}, "closes_at", "Must be after opens_at."),
        ({"opens_at": "07:00", "closes_at": "12:00"}, "opens_at", "only shortens the day"),
        ({"opens_at": "12:00", "closes_at": "19:00"}, "opens_at", "open 08:00-18:00"),
        ({"opens_at": "08:00", "closes_at": "18:00"}, "opens_at", "usual hours"),
        ({"opens_at": "noon", "closes_at": "18:00"}, "opens_at", "Time has wrong format"),
        ({"reason": ""}, "reason", "may not be blank"),
        ({"reason": "   "}, "reason", "may not be blank"),
        ({"reason": "x" * 201}, "reason", "no more than 200"),
        ({"date": "25/12/2030"}, "date", "Date has wrong format"),
        ({"date": "1999-12-25"}, "date", "Must be between the years"),
        ({"date": str(MONDAY - timedelta(days=30))}, "date", "The date has passed."),
    ],
)
def test_bad_input_is_400_naming_the_field(api_as, clinic, change, field, message) -> None:
    response = api_as("admin").post(url(clinic), closure(**change), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid"
    assert message in " ".join(body["fields"][field]), body
    assert not ClinicClosure.objects.exists()


@pytest.mark.django_db
def test_reason_and_date_are_required(api_as, clinic) -> None:
    response = api_as("admin").post(url(clinic), {}, format="json")
    assert response.status_code == 400
    assert {"date", "reason"} <= set(response.json()["fields"])


@pytest.mark.django_db
def test_today_may_still_be_closed(api_as, clinic) -> None:
    from django.utils import timezone

    today = timezone.now().astimezone(clinic.zone).date()
    response = api_as("admin").post(url(clinic), closure(date=today.isoformat()), format="json")
    assert response.status_code == 201, response.json()


# --- One closure a day --------------------------------------------------------------------------

SECOND_ON_A_DAY = {
    "code": "invalid",
    "message": CLOSURE_EXISTS,
    "fields": {"date": [CLOSURE_EXISTS]},
}


@pytest.mark.django_db
def test_a_second_closure_on_a_day_is_400_on_date(api_as, clinic) -> None:
    admin = api_as("admin")
    assert admin.post(url(clinic), closure(), format="json").status_code == 201
    again = admin.post(url(clinic), closure(opens_at="12:00", closes_at="18:00"), format="json")
    assert again.status_code == 400
    assert again.json() == SECOND_ON_A_DAY
    assert ClinicClosure.objects.count() == 1


@pytest.mark.django_db
def test_another_clinic_may_close_on_the_same_day(api_as, clinic, other_clinic) -> None:
    ClinicClosure.objects.create(clinic=other_clinic, date=MONDAY, reason="Theirs")
    assert api_as("admin").post(url(clinic), closure(), format="json").status_code == 201


@pytest.mark.django_db
def test_the_database_refuses_a_second_closure_on_a_day_with_the_same_answer(clinic) -> None:
    ClinicClosure.objects.create(clinic=clinic, date=MONDAY, reason="First")
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        # as if two requests had passed the service's check at once
        ClinicClosure.objects.create(clinic=clinic, date=MONDAY, reason="Second")
    mapped = error_from_integrity_error(caught.value)
    assert mapped is not None
    assert (http_status(mapped), mapped.code, mapped.message, mapped.fields) == (
        400,
        SECOND_ON_A_DAY["code"],
        SECOND_ON_A_DAY["message"],
        SECOND_ON_A_DAY["fields"],
    )


@pytest.mark.django_db
def test_the_database_refuses_hours_out_of_order(clinic) -> None:
    from datetime import time

    with (
        pytest.raises(IntegrityError, match="closure_hours_whole_or_ordered"),
        transaction.atomic(),
    ):
        ClinicClosure.objects.create(
            clinic=clinic, date=MONDAY, opens_at=time(12), closes_at=None, reason="x"
        )


class _CheckThatMisses:
    """Stands in for the model in the service: its check finds nothing (the other request has
    not committed yet), its INSERT is real and meets the constraint."""

    class objects:  # the manager's name
        @staticmethod
        def filter(**lookup: Any) -> Any:
            return ClinicClosure.objects.none()

        @staticmethod
        def create(**values: Any) -> ClinicClosure:
            return ClinicClosure.objects.create(**values)


@pytest.mark.django_db
def test_a_race_the_database_settles_answers_the_api_the_same(api_as, clinic, monkeypatch) -> None:
    ClinicClosure.objects.create(clinic=clinic, date=MONDAY, reason="The other request's")
    monkeypatch.setattr(closures_module, "ClinicClosure", _CheckThatMisses)
    response = api_as("admin").post(url(clinic), closure(), format="json")
    assert response.status_code == 400
    assert response.json() == SECOND_ON_A_DAY
    assert ClinicClosure.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_admins_racing_to_close_one_day_one_wins_the_rest_hear_the_same(make_user, clinic) -> None:
    contenders = 6
    clients = [client_for(make_user(role=Role.ADMIN, clinics=[clinic])) for _ in range(contenders)]
    barrier = threading.Barrier(contenders)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def attempt(client: APIClient, reason: str) -> None:
        try:
            barrier.wait()
            response = client.post(url(clinic), closure(reason=reason), format="json")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=(client, f"Closure {n}"))
        for n, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(status for status, _ in results) == {201: 1, 400: contenders - 1}
    assert all(body == SECOND_ON_A_DAY for status, body in results if status == 400)
    assert ClinicClosure.objects.filter(clinic=clinic).count() == 1
