"""Role-based access: every API view says which roles may call each of its methods.

A view declares `allowed_roles = {"GET": {...}, "POST": {...}}`; a method it does not list is
closed to everyone. What an allowed caller then *sees* is decided by the selectors (scoping).
"""

from typing import Any

from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


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
        return role in allowed.get(method, set())
