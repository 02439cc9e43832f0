"""What every API view of the apps shares: the caller, the role sets, a list's page and the
list view."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.models import Role, User
from config.api.pagination import CursorPagination
from config.api.schema import api_operation
from config.api.validation import validated_query


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

    @property
    def parameters(self) -> tuple[str, str]:
        """The query parameters the paginator reads (`cursor`, `page_size`)."""
        return (self.paginator.cursor_query_param, self.paginator.page_size_query_param)

    def cut(self, queryset: QuerySet[M]) -> list[M]:
        page = self.paginator.paginate_queryset(queryset, self.request, view=self.view)
        return list(page or [])

    def response(
        self, rows: list[Any], serializer_class: type[serializers.BaseSerializer]
    ) -> Response:
        serializer = serializer_class(rows, many=True, context={"request": self.request})
        return self.paginator.get_paginated_response(serializer.data)


class ListApi(APIView):
    # A list, one page at a time. A subclass declares its `list_operation_id`, its
    # `output_serializer_class`, its `filter_serializer_class` if the list takes filters (the
    # one declaration of its query parameters), and `rows`: the page its selector answers,
    # cut by `page.cut` (a selector that audits the read is handed `page.cut` itself, so that
    # it records exactly the rows shown). GET's OpenAPI operation is built from the same
    # declarations; `pagination_class` is how it learns the {"results", "next"} envelope and the
    # `cursor` and `page_size` parameters. No docstring here: drf-spectacular would publish it as
    # every list's description.
    # A query parameter that is neither a filter nor the paginator's is a 400 `invalid_filter`
    # (config/api/validation.py).
    pagination_class = CursorPagination
    list_operation_id: ClassVar[str]
    filter_serializer_class: ClassVar[type[serializers.Serializer] | None] = None
    output_serializer_class: ClassVar[type[serializers.Serializer]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        filters = cls.filter_serializer_class
        extend_schema_view(
            get=api_operation(
                cls.list_operation_id,
                parameters=[filters] if filters is not None else None,
                responses={200: cls.output_serializer_class(many=True)},
            )
        )(cls)

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[Any]:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        page = ListPage(request=request, view=self)
        filters = validated_query(self.filter_serializer_class, request, also_known=page.parameters)
        rows = self.rows(user=caller(request), filters=filters, page=page)
        return page.response(rows, self.output_serializer_class)


ALL_STAFF = {Role.ADMIN, Role.SCHEDULER, Role.NURSE, Role.CLINICIAN}
EVERYONE = ALL_STAFF | {Role.PATIENT}
