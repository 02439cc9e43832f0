"""Issue 13 point 15: Swagger groups the operations by tag (auth, clinic set-up, patients,
scheduling, vitals and alerts, questionnaires, admin), every operation has a one-line
description, and the discharge operation lists its criteria."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from config.api.operations import TAGS

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_seven_groups_in_order(schema) -> None:
    assert [tag["name"] for tag in schema["tags"]] == [
        "auth",
        "clinic set-up",
        "patients",
        "scheduling",
        "vitals and alerts",
        "questionnaires",
        "admin",
    ]
    assert [tag["name"] for tag in schema["tags"]] == [tag["name"] for tag in TAGS]


def test_every_operation_has_one_of_the_groups_and_a_one_line_description(schema) -> None:
    names = {tag["name"] for tag in TAGS}
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if len(operation.get("tags", [])) != 1
        or operation["tags"][0] not in names
        or not operation.get("description", "").strip()
        or "\n\n" in operation["description"].strip()
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("path", "method", "tag"),
    [
        ("/api/v1/auth/login/", "post", "auth"),
        ("/api/v1/clinics/", "post", "clinic set-up"),
        ("/api/v1/patients/", "post", "patients"),
        ("/api/v1/sessions/", "post", "scheduling"),
        ("/api/v1/sessions/{session_id}/vitals/", "post", "vitals and alerts"),
        ("/api/v1/alerts/", "get", "vitals and alerts"),
        ("/api/v1/surveys/", "post", "questionnaires"),
        ("/api/v1/patients/{patient_id}/outcomes/", "get", "questionnaires"),
        ("/api/v1/audit-events/", "get", "admin"),
    ],
)
def test_operations_sit_where_their_users_look(schema, path, method, tag) -> None:
    assert schema["paths"][path][method]["tags"] == [tag]


def test_discharge_lists_its_criteria(schema) -> None:
    description = schema["paths"]["/api/v1/sessions/{session_id}/discharge/"]["post"]["description"]
    for criterion in (
        "recovery_time",
        "vitals_recent",
        "vitals_in_limits",
        "consciousness",
        "open_critical_alert",
        "escort",
    ):
        assert criterion in description
