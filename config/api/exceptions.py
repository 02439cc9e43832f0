"""The DRF exception handler: renders every error alike, the domain's (config/errors.py)
mapped onto HTTP statuses here and nowhere else.

Body: {"code": "<snake_case>", "message": "<sentence>", "fields": {...}} (fields only for
validation), plus any extra keys an ApplicationError carries (e.g. "conflict").
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from config.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Throttled,
    Unauthenticated,
    error_from_integrity_error,
)

logger = logging.getLogger(__name__)


# The domain's error kinds (config/errors.py) as HTTP statuses; a kind not listed is a 400.
STATUS_OF_KIND: dict[type[ApplicationError], int] = {
    Invalid: status.HTTP_400_BAD_REQUEST,
    Unauthenticated: status.HTTP_401_UNAUTHORIZED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Gone: status.HTTP_410_GONE,
    Throttled: status.HTTP_429_TOO_MANY_REQUESTS,
}


def http_status(exc: ApplicationError) -> int:
    return STATUS_OF_KIND.get(type(exc), status.HTTP_400_BAD_REQUEST)


def _body(
    code: str, message: str, fields: Any = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if extra:
        body.update(extra)
    return body


def _messages(detail: Any, path: str = "") -> list[str]:
    """Every message in a DRF error detail, flat. DRF nests the errors of a list's items and of
    nested objects ({"starts_at": {"0": [...]}}); API.md promises {<field>: [messages]}, so a
    nested message keeps its place as a prefix: "0: Must be between the years 2000 and 2200."."""
    if isinstance(detail, dict):
        return [
            message
            for key, value in detail.items()
            for message in _messages(value, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(detail, list):
        # A list of messages for one place, or (a list serializer) one dict per item.
        return [
            message
            for index, item in enumerate(detail)
            for message in _messages(
                item,
                (f"{path}.{index}" if path else str(index)) if isinstance(item, dict) else path,
            )
        ]
    return [f"{path}: {detail}" if path else str(detail)]


def _validation_fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(field): _messages(value) for field, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def error_response(exc: ApplicationError) -> Response:
    return Response(_body(exc.code, exc.message, exc.fields, exc.extra), status=http_status(exc))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        # The database went away mid-request (restart, failover, a dropped connection) or
        # cancelled the statement. The write may or may not have been applied (the connection
        # can drop during COMMIT); a retry reconnects (Django discards the broken connection
        # when the request ends). Writes that carry their own id (readings) are safe to retry;
        # others answer a retry that repeats them with their usual 409.
        logger.warning("database unavailable: %s", type(exc).__name__)
        set_rollback()
        return Response(
            _body("service_unavailable", "The database is unavailable; try again shortly."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, IntegrityError):
        mapped = error_from_integrity_error(exc)
        if mapped is None:
            return None  # an unknown constraint is a bug in our code: let it surface as a 500
        exc = mapped
    if isinstance(exc, DjangoValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = Invalid(fields=fields)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        set_rollback()
        return error_response(exc)
    if not isinstance(exc, exceptions.APIException):
        return None

    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        headers["Retry-After"] = str(int(wait))
    set_rollback()
    if isinstance(exc, exceptions.ValidationError):
        body = _body("invalid", "The request is not valid.", _validation_fields(exc.detail))
    else:
        code = _DRF_CODES.get(type(exc), str(exc.default_code))
        body = _body(code, str(exc.detail))
    return Response(body, status=exc.status_code, headers=headers)


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(_body("not_found", "Not found."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_body("server_error", "Something went wrong on our side."), status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(_body("bad_request", "The request could not be understood."), status=400)
