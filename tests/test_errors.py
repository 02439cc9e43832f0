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
