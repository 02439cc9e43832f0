"""A request's input, checked by the view's serializer: the query string by its filter
serializer, the body by its input serializer. Invalid input raises DRF's ValidationError, which
the exception handler answers as a 400 in the error format (API.md).

A query parameter the view does not declare is refused (400 `invalid_filter`), never ignored: a
misspelt filter (`?stauts=open`) silently dropped would answer more than was asked for."""

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from config.errors import Invalid


def refuse_unknown_parameters(request: Request, *, known: Iterable[str]) -> None:
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise Invalid(
            "invalid_filter",
            f"Unknown query parameter{plural}: {', '.join(unknown)}.",
            fields={name: ["Unknown query parameter."] for name in unknown},
        )


def validated_query(
    serializer_class: type[serializers.Serializer] | None,
    request: Request,
    *,
    also_known: Iterable[str] = (),
) -> dict[str, Any]:
    """The query's values, as `serializer_class` (the one declaration of the view's parameters;
    None: it takes none) cleans them; `also_known` are parameters read elsewhere (a list's
    `cursor` and `page_size`)."""
    query = serializer_class(data=request.query_params) if serializer_class is not None else None
    declared = query.fields if query is not None else {}
    refuse_unknown_parameters(request, known=[*declared, *also_known])
    if query is None:
        return {}
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
