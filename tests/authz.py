"""The API's endpoints as the URL configuration serves them, and README's role table.

Shared by tests/clinic/test_roles.py (the table and the routes agree) and
tests/reliability/test_authorization_matrix.py (every endpoint x role x scope).
"""

import re
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny

from tests.conftest import REPO_ROOT

ROLES = ["admin", "scheduler", "nurse", "clinician", "patient"]
PUBLIC = {"POST /api/v1/auth/login/"}


@dataclass(frozen=True)
class Route:
    method: str  # "GET", "POST", ...
    path: str  # as README writes it: "/api/v1/sessions/{id}/start/"
    kwargs: tuple[str, ...]  # the URL's keywords, in order: ("session_id",)
    view: Any

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"


def api_routes() -> list[Route]:
    """Every METHOD + path the URL configuration serves under /api/v1/ behind a login."""
    found: list[Route] = []

    def walk(patterns: list[Any], prefix: str) -> None:
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
                kwargs = tuple(re.findall(r"<(?:\w+:)?(\w+)>", path))
                path = re.sub(r"<[^>]+>", "{id}", path)
                for method in ("get", "post", "put", "patch", "delete"):
                    if hasattr(view, method):
                        found.append(Route(method.upper(), path, kwargs, view))

    walk(get_resolver().url_patterns, "")
    return sorted(found, key=lambda route: route.endpoint)


def api_endpoints() -> set[str]:
    """Every METHOD + path under /api/v1/ behind a login, ids as {id}."""
    return {route.endpoint for route in api_routes()}


def role_table() -> dict[str, dict[str, bool]]:
    """README's "Who may do what": endpoint -> role -> allowed."""
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("<!-- roles:start -->")[1].split("<!-- roles:end -->")[0]
    table: dict[str, dict[str, bool]] = {}
    for line in block.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        endpoint = cells[0].strip("`")
        assert set(cells[1:]) <= {"yes", "no"}, line
        table[endpoint] = dict(zip(ROLES, (cell == "yes" for cell in cells[1:]), strict=True))
    return table
