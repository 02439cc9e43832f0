"""One error format for everything a client can get wrong: never a 500 (API.md "Conventions")."""

import json

import pytest

from clinic.models import Patient


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.django_db
def test_malformed_json_is_400_parse_error(api_as) -> None:
    response = api_as("scheduler").post(
        "/api/v1/patients/", data='{"first_name": "Alex",', content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


@pytest.mark.django_db
def test_a_json_list_where_an_object_is_expected_is_400(api_as) -> None:
    response = api_as("scheduler").post(
        "/api/v1/patients/", data="[1, 2]", content_type="application/json"
    )
    body = assert_error(response, 400, "invalid")
    assert "non_field_errors" in body["fields"]


@pytest.mark.django_db
def test_missing_fields_are_named(api_as) -> None:
    body = assert_error(
        api_as("scheduler").post("/api/v1/patients/", {}, format="json"), 400, "invalid"
    )
    assert {"clinic", "first_name", "last_name", "date_of_birth", "weight_kg"} <= set(
        body["fields"]
    )


@pytest.mark.django_db
def test_a_form_body_is_415(api_as) -> None:
    response = api_as("scheduler").post(
        "/api/v1/patients/", data="a=b", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.django_db
def test_an_over_large_body_is_413_and_nothing_is_stored(api_as, clinic, settings) -> None:
    settings.REQUEST_MAX_BYTES = 10_000
    padding = "x" * 20_000
    response = api_as("scheduler").post(
        "/api/v1/patients/",
        data=json.dumps({"clinic": clinic.pk, "first_name": padding}),
        content_type="application/json",
    )
    assert_error(response, 413, "payload_too_large")
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_an_unknown_path_is_a_json_404(api_as) -> None:
    assert_error(api_as("nurse").get("/api/v1/no-such-thing/"), 404, "not_found")


@pytest.mark.django_db
def test_an_unknown_id_is_404(api_as) -> None:
    assert_error(api_as("nurse").get("/api/v1/patients/999999999/"), 404, "not_found")


@pytest.mark.django_db
def test_a_wrong_method_is_405(api_as) -> None:
    assert_error(api_as("admin").delete("/api/v1/clinics/"), 405, "method_not_allowed")


@pytest.mark.django_db
def test_a_role_that_may_not_is_403(api_as) -> None:
    assert_error(
        api_as("nurse").post("/api/v1/clinics/", {}, format="json"), 403, "permission_denied"
    )


@pytest.mark.django_db
def test_bad_query_parameters_are_400(api_as) -> None:
    body = assert_error(api_as("nurse").get("/api/v1/patients/?clinic=abc"), 400, "invalid")
    assert "clinic" in body["fields"]


@pytest.mark.django_db
def test_json_nested_too_deeply_is_400(api_as) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    response = api_as("scheduler").post(
        "/api/v1/patients/", data=deep, content_type="application/json"
    )
    assert_error(response, 400, "parse_error")


@pytest.mark.django_db
@pytest.mark.parametrize("size", ["\u00b2", "9" * 5000, "-1", "1.5"])
def test_odd_page_sizes_are_400(api_as, size) -> None:
    body = assert_error(api_as("nurse").get(f"/api/v1/patients/?page_size={size}"), 400, "invalid")
    assert "page_size" in body["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/sessions/?date=9999-12-31",
        "/api/v1/sessions/?date=0001-01-01",
        "/api/v1/availability/?clinic=1&protocol=1&date=9999-12-31",
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_400(api_as, url) -> None:
    assert_error(api_as("scheduler").get(url), 400, "invalid")


@pytest.mark.django_db
def test_a_start_at_the_end_of_the_calendar_is_400(api_as, clinic) -> None:
    payload = {"patient": 1, "protocol": 1, "chair": 1, "starts_at": "9999-12-31T23:00:00Z"}
    body = assert_error(
        api_as("scheduler").post("/api/v1/sessions/", payload, format="json"), 400, "invalid"
    )
    assert "starts_at" in body["fields"]


@pytest.mark.django_db
def test_a_unique_name_race_the_database_settles_is_a_400(clinic) -> None:
    from django.db import IntegrityError, transaction

    from clinic.models import Chair
    from config.api.exceptions import http_status
    from config.errors import error_from_integrity_error

    Chair.objects.create(clinic=clinic, name="A")
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        Chair.objects.create(clinic=clinic, name="A")  # as if two requests passed the check at once
    mapped = error_from_integrity_error(caught.value)
    assert (
        mapped is not None
        and http_status(mapped) == 400
        and mapped.fields == {"name": ["This clinic already has a chair with this name."]}
    )


@pytest.mark.django_db
def test_errors_inside_a_list_are_messages_under_its_field(api_as) -> None:
    # DRF nests the errors of a list's items ({"open_weekdays": {"1": [...]}}); API.md promises
    # {<field>: [messages]}, so the item's position leads its message instead.
    clinic = {
        "name": "North",
        "timezone": "America/New_York",
        "opening_time": "08:00",
        "closing_time": "18:00",
        "open_weekdays": [0, 7],
    }
    body = assert_error(
        api_as("admin").post("/api/v1/clinics/", clinic, format="json"), 400, "invalid"
    )
    assert body["fields"] == {"open_weekdays": ["1: Ensure this value is less than or equal to 6."]}
    series = {
        "patient": 1,
        "protocol": 1,
        "starts_at": ["2030-01-01T09:00:00Z", "2030-01-02T09:00"],
    }
    body = assert_error(
        api_as("scheduler").post("/api/v1/series/", series, format="json"), 400, "invalid"
    )
    assert body["fields"]["starts_at"] == [
        "1: Give the time with its offset, e.g. 2026-03-09T14:00:00-04:00."
    ]
