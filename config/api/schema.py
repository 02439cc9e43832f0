"""OpenAPI pieces shared by every API view: the error body and the statuses that use it."""

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The error body. Built in get_fields() because one of its keys is `fields`, the name of
    the serializer's own attribute."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "code": serializers.CharField(help_text="Stable snake_case error code."),
            "message": serializers.CharField(help_text="A human sentence."),
            "fields": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                required=False,
                help_text="Per-field messages, for validation errors only.",
            ),
        }


_error = OpenApiResponse(ErrorSerializer, description="Error (see API.md for the codes).")

ERROR_RESPONSES = {
    400: _error,
    401: _error,
    403: _error,
    404: _error,
    409: _error,
    429: _error,
    503: _error,  # the database unavailable mid-request: retry (config/api/exceptions.py)
}

F = TypeVar("F", bound=Callable[..., Any])


def api_operation(
    operation_id: str, *, responses: dict[Any, Any], **details: Any
) -> Callable[[F], F]:
    """`extend_schema` for one operation: its id, its own answers, then the error answers every
    operation shares (ERROR_RESPONSES); `details` are extend_schema's other arguments."""
    return extend_schema(
        operation_id=operation_id, responses={**responses, **ERROR_RESPONSES}, **details
    )


def whole_list(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The list body of a list that is never paged: the {"results", "next"} envelope of the
    paginated lists (API.md), with `next` always null."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(
        name=f"{name}List",
        fields={
            "results": serializer_class(many=True),
            "next": serializers.URLField(allow_null=True, help_text="Always null: one page."),
        },
    )


class LocalTimeFieldExtension(OpenApiSerializerFieldExtension):
    """Every time of day in this API is a local wall-clock time (clinic hours, a preferred
    start), written "08:00" and answered "08:00:00", with no offset. drf-spectacular documents a
    TimeField as `format: time`, which JSON Schema defines as RFC 3339 `full-time`: offset
    required, so every clinic the API returned would violate its own schema."""

    target_class = "rest_framework.fields.TimeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
        }
