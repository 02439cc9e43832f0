"""A request's input, checked by the view's serializer: the query string by its filter
serializer, the body by its input serializer. Invalid input raises DRF's ValidationError, which
the exception handler answers as a 400 in the error format (API.md)."""

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request


def validated_query(
    serializer_class: type[serializers.Serializer], request: Request
) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def validated_body(
    serializer_class: type[serializers.Serializer], request: Request
) -> dict[str, Any]:
    # The request is in the context for the fields that resolve ids in the caller's scope
    # (ScopedPrimaryKeyRelatedField); the other fields ignore it.
    body = serializer_class(data=request.data, context={"request": request})
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)
