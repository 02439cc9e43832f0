"""Role-based access: every API view says which roles may call each of its methods.

A view declares `allowed_roles = {"GET": {...}, "POST": {...}}`; a method it does not list is
closed to everyone. What an allowed caller then *sees* is decided by the selectors (scoping).

Scope comes before role: an object the caller cannot see does not exist for them, so a refused
caller who names another clinic's object in the URL gets the same 404 as an allowed one, not a
403 that would confirm the object exists. Apps register, per URL keyword (`session_id`), the
scoped selector that fetches it (`register_url_object`); it is consulted only to refuse.
"""

from collections.abc import Callable
from typing import Any

from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

# URL keyword -> the app's scoped `<thing>_get(user=..., <keyword>=...)`, which raises NotFound
# for anything outside the caller's scope.
_URL_OBJECTS: dict[str, Callable[..., Any]] = {}


def register_url_object(kwarg: str, selector: Callable[..., Any]) -> None:
    _URL_OBJECTS[kwarg] = selector


def registered_url_objects() -> dict[str, Callable[..., Any]]:
    return dict(_URL_OBJECTS)


def role_of(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return "admin"
    return str(user.role)


class HasRole(BasePermission):
    message = "Your role may not do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        role = role_of(request.user)
        if role is None:
            raise NotAuthenticated()
        method = "GET" if request.method in ("HEAD", "OPTIONS") else (request.method or "")
        if not hasattr(view, method.lower()):
            return True  # let the view answer 405 Method Not Allowed
        allowed: dict[str, set[str]] = getattr(view, "allowed_roles", {})
        if role in allowed.get(method, set()):
            return True
        # About to refuse: first look up what the URL names, as the view would have. These
        # `*_get` selectors only read (the reading selectors a view calls record the audit
        # events), so a refusal leaves no trace.
        # Every keyword of an API route is registered (tests/reliability/test_authorization_
        # matrix.py checks it).
        for kwarg, value in getattr(view, "kwargs", {}).items():
            selector = _URL_OBJECTS.get(kwarg)
            if selector is not None:
                selector(user=request.user, **{kwarg: value})  # raises NotFound -> 404
        return False
