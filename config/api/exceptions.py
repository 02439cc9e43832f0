"""One error type for the whole project and the DRF handler that renders every error alike.

Body: {"code": "<snake_case>", "message": "<sentence>", "fields": {...}} (fields only for
validation), plus any extra keys an ApplicationError carries (e.g. "conflict").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A failure the client can act on: a status, a stable code and a human sentence."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = status.HTTP_400_BAD_REQUEST,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields
        self.extra = extra or {}


@dataclass(frozen=True)
class ConstraintError:
    status: int
    code: str
    message: str
    extra: dict[str, Any]
    fields: dict[str, list[str]] | None


# Database constraints whose violation is the client's doing, by constraint name. Apps register
# theirs (AppConfig.ready) so that a race the database catches is a 4xx, never a 500.
_CONSTRAINT_ERRORS: dict[str, ConstraintError] = {}


def register_constraint_error(
    constraint: str,
    *,
    code: str,
    message: str,
    status: int = status.HTTP_409_CONFLICT,
    extra: dict[str, Any] | None = None,
    fields: dict[str, list[str]] | None = None,
) -> None:
    _CONSTRAINT_ERRORS[constraint] = ConstraintError(status, code, message, extra or {}, fields)


def application_error_from_integrity_error(exc: IntegrityError) -> ApplicationError | None:
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    known = _CONSTRAINT_ERRORS.get(name or "")
    if known is None:
        return None
    return ApplicationError(
        known.code, known.message, status=known.status, extra=dict(known.extra), fields=known.fields
    )


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
    return Response(_body(exc.code, exc.message, exc.fields, exc.extra), status=exc.status)


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
        mapped = application_error_from_integrity_error(exc)
        if mapped is None:
            return None  # an unknown constraint is a bug in our code: let it surface as a 500
        exc = mapped
    if isinstance(exc, DjangoValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = ApplicationError("invalid", "The request is not valid.", fields=fields)
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
