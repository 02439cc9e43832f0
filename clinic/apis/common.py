"""What every API view of the apps shares: the caller, the role sets, a list's page."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.models import Role, User


def caller(request: Request) -> User:
    """The authenticated user (HasRole has already refused anonymous callers)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


M = TypeVar("M", bound=Model)


class ListPage:
    """One page of a list view, as its paginator cuts it. A selector that audits a list's read
    is handed `cut`, so that it records exactly the rows the caller is shown; `response` gives
    the page in the list envelope (config/api/pagination.py)."""

    def __init__(self, *, request: Request, view: APIView) -> None:
        self.request = request
        self.view = view
        self.paginator = view.pagination_class()  # type: ignore[attr-defined]

    def cut(self, queryset: QuerySet[M]) -> list[M]:
        page = self.paginator.paginate_queryset(queryset, self.request, view=self.view)
        return list(page or [])

    def response(
        self, rows: list[Any], serializer_class: type[serializers.BaseSerializer]
    ) -> Response:
        serializer = serializer_class(rows, many=True, context={"request": self.request})
        return self.paginator.get_paginated_response(serializer.data)


ALL_STAFF = {Role.ADMIN, Role.SCHEDULER, Role.NURSE, Role.CLINICIAN}
EVERYONE = ALL_STAFF | {Role.PATIENT}
