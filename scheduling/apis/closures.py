"""The sessions a clinic's closure hits, listed for rescheduling:
GET /clinics/{id}/closures/{closure_id}/affected-sessions/. Here, not in clinic, because the
clinic app knows no sessions (docs/architecture.md, dependency arrows)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from clinic.apis import ALL_STAFF, ListApi, ListPage
from clinic.models import User
from config.api.pagination import CursorPagination
from scheduling import selectors
from scheduling.apis.sessions import SessionOutputSerializer
from scheduling.models import InfusionSession


class ByStart(CursorPagination):
    # DRF takes a tuple (its stubs say a string): the id orders sessions that start together.
    ordering = ("starts_at", "id")  # type: ignore[assignment]


class ClosureAffectedSessionsApi(ListApi):
    allowed_roles = {"GET": ALL_STAFF}
    pagination_class = ByStart
    list_operation_id = "clinics_closures_affected_sessions"
    output_serializer_class = SessionOutputSerializer

    def get(self, request: Request, **url: Any) -> Response:
        """The sessions (scheduled or checked in) the closure hits, to reschedule: none is moved."""
        # Under the closure's URL: `rows` reads its ids from self.kwargs.
        return super().get(request)

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[InfusionSession]:
        return selectors.closure_affected_page_read(
            user=user,
            clinic_id=self.kwargs["clinic_id"],
            closure_id=self.kwargs["closure_id"],
            cut=page.cut,
        )
