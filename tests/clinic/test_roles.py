"""Walks the role table in README.md: every endpoint as every role, allowed or 403.

The README is the source of truth a reader sees; this test keeps it true. An API endpoint that
is missing from the table fails the test too.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny

from clinic.models import Role
from monitoring.models import Alert
from tests.conftest import REPO_ROOT, client_for
from tests.factories import PatientFactory, ProtocolFactory, SessionFactory

ROLES = ["admin", "scheduler", "nurse", "clinician", "patient"]
PUBLIC = {"POST /api/v1/auth/login/"}


def role_table() -> dict[str, dict[str, bool]]:
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("<!-- roles:start -->")[1].split("<!-- roles:end -->")[0]
    table: dict[str, dict[str, bool]] = {}
    for line in block.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        endpoint = cells[0].strip("`")
        assert set(cells[1:]) <= {"yes", "no"}, line
        table[endpoint] = dict(zip(ROLES, (cell == "yes" for cell in cells[1:]), strict=True))
    return table


def api_endpoints() -> set[str]:
    """Every METHOD + path the URL configuration serves under /api/v1/, ids as {id}."""
    found: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                path = "/" + prefix + str(pattern.pattern)
                if not path.startswith("/api/v1/"):
                    continue
                view = pattern.callback.view_class  # type: ignore[attr-defined]
                if AllowAny in getattr(view, "permission_classes", []):
                    continue
                path = re.sub(r"<[^>]+>", "{id}", path)
                for method in ("get", "post", "put", "patch", "delete"):
                    if hasattr(view, method):
                        found.add(f"{method.upper()} {path}")

    walk(get_resolver().url_patterns, "")
    return found


def test_every_api_endpoint_has_a_row() -> None:
    missing = api_endpoints() - set(role_table())
    assert not missing, f"endpoints missing from README's role table: {sorted(missing)}"
    stale = set(role_table()) - api_endpoints()
    assert not stale, f"rows for endpoints that do not exist: {sorted(stale)}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_the_role_table_holds(role, clinic, make_user) -> None:
    user = make_user(role=role, clinics=[clinic] if role != Role.PATIENT else [])
    patient = PatientFactory.create(clinic=clinic, user=user if role == Role.PATIENT else None)
    session = SessionFactory.create(patient=patient)
    ids = {
        "/clinics/": clinic.pk,
        "/patients/": patient.pk,
        "/protocols/": ProtocolFactory.create(clinic=clinic).pk,
        "/sessions/": session.pk,
        "/alerts/": Alert.objects.create(
            clinic=clinic,
            patient=patient,
            session=session,
            parameter="systolic",
            severity="warning",
            message="m",
            dedup_key="roles",
        ).pk,
    }
    failures = []
    for endpoint, row in role_table().items():
        allowed = row[role]
        method, path = endpoint.split(" ")
        for prefix, object_id in ids.items():
            if prefix in path:
                path = path.replace("{id}", str(object_id))
        assert "{id}" not in path, f"no object for {endpoint}"
        client = client_for(user)  # a fresh token: logout must not end the walk
        response = getattr(client, method.lower())(path, {}, format="json")
        if allowed and response.status_code in (401, 403, 404):
            failures.append(f"{endpoint}: expected allowed, got {response.status_code}")
        if not allowed and response.status_code != 403:
            failures.append(f"{endpoint}: expected 403, got {response.status_code}")
    assert not failures, "\n".join(failures)
