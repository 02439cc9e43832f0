"""The status changes the scheduling API offers: check-in, completion, cancellation, no-show
(monitoring's gates start, stop and discharge; scheduling/services/status.py applies them all)."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from clinic.models import Role
from scheduling import services
from scheduling.apis.sessions import SessionActionApi


class CheckInInputSerializer(serializers.Serializer):
    fasting_confirmed = serializers.BooleanField()
    escort_confirmed = serializers.BooleanField()
    weight_kg = serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        min_value=Decimal("20"),
        max_value=Decimal("400"),
        required=False,
        allow_null=True,
        default=None,
    )


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class SessionCheckInApi(SessionActionApi):
    allowed_roles = {"POST": {Role.NURSE, Role.SCHEDULER}}
    operation_id = "sessions_check_in"
    input_serializer_class = CheckInInputSerializer
    service = staticmethod(services.session_check_in)


class CompleteInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when the infusion ran shorter than the protocol's minutes.",
    )


class SessionCompleteApi(SessionActionApi):
    allowed_roles = {"POST": {Role.NURSE, Role.CLINICIAN}}
    operation_id = "sessions_complete"
    input_serializer_class = CompleteInputSerializer
    service = staticmethod(services.session_complete)


class SessionCancelApi(SessionActionApi):
    allowed_roles = {"POST": {Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN}}
    operation_id = "sessions_cancel"
    input_serializer_class = ReasonInputSerializer
    service = staticmethod(services.session_cancel)


class SessionNoShowApi(SessionActionApi):
    allowed_roles = {"POST": {Role.ADMIN, Role.SCHEDULER, Role.NURSE}}
    operation_id = "sessions_no_show"
    input_serializer_class = None
    service = staticmethod(services.session_mark_no_show)
