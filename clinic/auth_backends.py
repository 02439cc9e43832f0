"""Password authentication that honours the failed-login lockout, for the API and the admin."""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        from clinic.services import login_locked_out

        if username is not None and login_locked_out(username=username):
            raise PermissionDenied("Too many failed logins.")  # stops every backend
        return super().authenticate(request, username=username, password=password, **kwargs)
