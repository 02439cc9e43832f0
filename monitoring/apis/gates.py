"""HTTP API of the clinical gates of a session (start, stop, discharge) and its adverse events."""

from __future__ import annotations

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.apis import caller
from clinic.models import Role
from config.api.fields import AwareDateTimeField
from config.api.schema import api_operation, whole_list
from config.api.validation import validated_body
from monitoring import selectors, services
from monitoring.apis.vitals import CLINICAL_STAFF
from monitoring.models import (
    AdverseEvent,
    AdverseEventKind,
    AdverseEventSeverity,
)
from scheduling.apis import SessionActionApi
from scheduling.models import DischargeArrangement
from scheduling.selectors import session_get

# --- Session gates --------------------------------------------------------------------------------


class StartInputSerializer(serializers.Serializer):
    override_reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="A clinician's written reason to start despite failed pre-start checks.",
    )


class AdverseEventInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AdverseEventKind.choices)
    severity = serializers.ChoiceField(choices=AdverseEventSeverity.choices)
    action_taken = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    occurred_at = AwareDateTimeField(required=False)


class StopInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    adverse_event = AdverseEventInputSerializer(required=False, allow_null=True, default=None)


class SessionStartApi(SessionActionApi):
    allowed_roles = {"POST": CLINICAL_STAFF}
    operation_id = "sessions_start"
    input_serializer_class = StartInputSerializer
    service = staticmethod(services.session_start)


class SessionStopApi(SessionActionApi):
    allowed_roles = {"POST": CLINICAL_STAFF}
    operation_id = "sessions_stop"
    input_serializer_class = StopInputSerializer
    service = staticmethod(services.session_stop)


class DischargeInputSerializer(serializers.Serializer):
    arrangement = serializers.ChoiceField(
        choices=DischargeArrangement.choices,
        default=DischargeArrangement.HOME_WITH_ESCORT,
        help_text="Anything but home_with_escort needs a clinician and a reason.",
    )
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class EscortInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class SessionConfirmEscortApi(SessionActionApi):
    allowed_roles = {"POST": {Role.NURSE, Role.CLINICIAN}}
    operation_id = "sessions_confirm_escort"
    input_serializer_class = EscortInputSerializer
    service = staticmethod(services.session_escort_confirm)


class SessionDischargeApi(SessionActionApi):
    allowed_roles = {"POST": CLINICAL_STAFF}
    operation_id = "sessions_discharge"
    input_serializer_class = DischargeInputSerializer
    service = staticmethod(services.session_discharge)


class AdverseEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdverseEvent
        fields = [
            "id",
            "session",
            "kind",
            "severity",
            "action_taken",
            "notes",
            "occurred_at",
            "recorded_by",
            "recorded_at",
        ]


class SessionAdverseEventsApi(APIView):
    allowed_roles = {"GET": CLINICAL_STAFF, "POST": CLINICAL_STAFF}

    @api_operation(
        "sessions_adverse_events_list", responses={200: whole_list(AdverseEventOutputSerializer)}
    )
    def get(self, request: Request, session_id: int) -> Response:
        session = session_get(user=caller(request), session_id=session_id)
        events = selectors.adverse_event_list(session=session)
        return Response(
            {"results": AdverseEventOutputSerializer(events, many=True).data, "next": None}
        )

    @api_operation(
        "sessions_adverse_events_create",
        request=AdverseEventInputSerializer,
        responses={201: AdverseEventOutputSerializer},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = session_get(user=user, session_id=session_id)
        event = services.adverse_event_record(
            actor=user, session=session, event=validated_body(AdverseEventInputSerializer, request)
        )
        return Response(AdverseEventOutputSerializer(event).data, status=status.HTTP_201_CREATED)
