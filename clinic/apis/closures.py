"""A clinic's closures: GET and POST /clinics/{id}/closures/. The sessions a closure hits are
scheduling's (scheduling/apis/closures.py: …/closures/{closure_id}/affected-sessions/)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from clinic import selectors, services
from clinic.apis.common import ALL_STAFF, ListApi, ListPage, caller
from clinic.models import ClinicClosure, Role, User
from config.api.fields import CalendarDateField
from config.api.pagination import CursorPagination
from config.api.schema import api_operation
from config.api.validation import validated_body


class ClinicClosureInputSerializer(serializers.Serializer):
    date = CalendarDateField(help_text="The clinic's local date.")
    opens_at = serializers.TimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With closes_at: open only from this local time. Neither: closed all day.",
    )
    closes_at = serializers.TimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With opens_at: open only until this local time.",
    )
    reason = serializers.CharField(max_length=200)


class ClinicClosureOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClinicClosure
        fields = [
            "id",
            "clinic",
            "date",
            "opens_at",
            "closes_at",
            "reason",
            "created_by",
            "created_at",
        ]


class ByDate(CursorPagination):
    ordering = "date"  # one closure a day: unique within the clinic


class ClinicClosureListApi(ListApi):
    # Who may close the clinic: its admins, who set its hours (POST /clinics/) and chairs; a
    # closure changes those hours. Every member of its staff sees them.
    allowed_roles = {"GET": ALL_STAFF, "POST": {Role.ADMIN}}
    pagination_class = ByDate
    list_operation_id = "clinics_closures_list"
    output_serializer_class = ClinicClosureOutputSerializer

    def get(self, request: Request, **url: Any) -> Response:
        """The clinic's closures (whole days, or shortened hours), by date."""
        # Under the clinic's URL: `rows` reads its id from self.kwargs.
        return super().get(request)

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[ClinicClosure]:
        closures = selectors.clinic_closure_list(user=user, clinic_id=self.kwargs["clinic_id"])
        return page.cut(closures)

    @api_operation(
        "clinics_closures_create",
        description=(
            "Close the clinic on a date, all day (no times) or but for opens_at-closes_at; "
            "booked sessions are not moved: GET …/affected-sessions/ lists them."
        ),
        request=ClinicClosureInputSerializer,
        responses={201: ClinicClosureOutputSerializer},
    )
    def post(self, request: Request, clinic_id: int) -> Response:
        user = caller(request)
        clinic = selectors.clinic_get(user=user, clinic_id=clinic_id)
        values = validated_body(ClinicClosureInputSerializer, request)
        closure = services.clinic_closure_create(actor=user, clinic=clinic, **values)
        return Response(ClinicClosureOutputSerializer(closure).data, status=status.HTTP_201_CREATED)
