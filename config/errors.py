"""The domain's errors: what services and selectors raise when the caller can act on it.

Nothing here knows DRF or HTTP. Each interface maps an error's kind onto its own terms: the JSON
API in config/api/exceptions.py (a status and the error body of API.md), the patient survey
pages in monitoring/views.py. One way to say each thing:
- bad input: `Invalid(fields={...})`, or `Invalid.field("name", "Why.")` for one field;
- not found, or outside the caller's scope: `NotFound()` (selectors: `get_or_not_found`);
- a state that forbids the action: `Conflict(code, message)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


class ApplicationError(Exception):
    """A failure the caller can act on: a stable code, a human sentence, and any extra keys the
    answer carries (e.g. "conflict"). Subclasses say what kind of failure it is."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields
        self.extra = extra or {}


class Invalid(ApplicationError):
    """The input is wrong; `fields` says where."""

    def __init__(
        self,
        code: str = "invalid",
        message: str = "The request is not valid.",
        *,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message, fields=fields, extra=extra)

    @classmethod
    def field(cls, name: str, message: str, *, code: str = "invalid") -> Invalid:
        return cls(code, message, fields={name: [message]})


class Unauthenticated(ApplicationError):
    """Who is asking is not known (wrong credentials)."""


class Forbidden(ApplicationError):
    """Known, but this role or person may not do it."""


class NotFound(ApplicationError):
    """Not there, or outside the caller's scope: the two are never told apart."""

    def __init__(self, code: str = "not_found", message: str = "Not found.") -> None:
        super().__init__(code, message)


class Conflict(ApplicationError):
    """The thing's present state forbids the action (a booked slot, a finished session)."""


class Gone(ApplicationError):
    """It existed but is no longer usable (an expired link)."""


class Throttled(ApplicationError):
    """Too many attempts; try again later."""


def get_or_not_found(queryset: QuerySet[M], **lookup: Any) -> M:
    """The one object of a scoped queryset that matches, or NotFound."""
    try:
        return queryset.get(**lookup)
    except ObjectDoesNotExist:
        raise NotFound() from None


# --- Database constraints -------------------------------------------------------------------


@dataclass(frozen=True)
class _ConstraintError:
    kind: type[ApplicationError]
    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, list[str]] | None = None


# Constraints whose violation is the client's doing, by name. Apps register theirs
# (AppConfig.ready) so that a race the database settles is a clear error, never a crash.
_CONSTRAINT_ERRORS: dict[str, _ConstraintError] = {}


def register_constraint_error(
    constraint: str,
    *,
    code: str,
    message: str,
    kind: type[ApplicationError] = Conflict,
    extra: dict[str, Any] | None = None,
    fields: dict[str, list[str]] | None = None,
) -> None:
    _CONSTRAINT_ERRORS[constraint] = _ConstraintError(kind, code, message, extra or {}, fields)


def error_from_integrity_error(exc: IntegrityError) -> ApplicationError | None:
    """The registered error for the constraint `exc` violated; None for any other (a bug)."""
    diag = getattr(exc.__cause__, "diag", None)
    known = _CONSTRAINT_ERRORS.get(getattr(diag, "constraint_name", None) or "")
    if known is None:
        return None
    return known.kind(known.code, known.message, extra=dict(known.extra), fields=known.fields)
