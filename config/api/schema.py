"""OpenAPI pieces shared by every API view: the error body and the statuses that use it."""

from drf_spectacular.utils import OpenApiResponse
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
}
