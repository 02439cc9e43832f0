"""HTTP API of the clinical gates of a session (start, stop, discharge) and its adverse events."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.apis import caller
from config.api.fields import AwareDateTimeField
from config.api.schema import ERROR_RESPONSES, whole_list
from monitoring import selectors, services
from monitoring.apis.vitals import CLINICAL_STAFF
from monitoring.models import (
    AdverseEvent,
    AdverseEventKind,
    AdverseEventSeverity,
)
from scheduling.apis import SessionOutputSerializer, session_response
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


class SessionStartApi(APIView):
    allowed_roles = {"POST": CLINICAL_STAFF}

    @extend_schema(
        operation_id="sessions_start",
        request=StartInputSerializer,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = session_get(user=user, session_id=session_id)
        data = StartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return session_response(
            services.session_start(actor=user, session=session, **data.validated_data)
        )


class SessionStopApi(APIView):
    allowed_roles = {"POST": CLINICAL_STAFF}

    @extend_schema(
        operation_id="sessions_stop",
        request=StopInputSerializer,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = session_get(user=user, session_id=session_id)
        data = StopInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return session_response(
            services.session_stop(actor=user, session=session, **data.validated_data)
        )


class SessionDischargeApi(APIView):
    allowed_roles = {"POST": CLINICAL_STAFF}

    @extend_schema(
        operation_id="sessions_discharge",
        request=None,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = session_get(user=user, session_id=session_id)
        return session_response(services.session_discharge(actor=user, session=session))


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

    @extend_schema(
        operation_id="sessions_adverse_events_list",
        responses={200: whole_list(AdverseEventOutputSerializer), **ERROR_RESPONSES},
    )
    def get(self, request: Request, session_id: int) -> Response:
        session = session_get(user=caller(request), session_id=session_id)
        events = selectors.adverse_event_list(session=session)
        return Response(
            {"results": AdverseEventOutputSerializer(events, many=True).data, "next": None}
        )

    @extend_schema(
        operation_id="sessions_adverse_events_create",
        request=AdverseEventInputSerializer,
        responses={201: AdverseEventOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = session_get(user=user, session_id=session_id)
        data = AdverseEventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.adverse_event_record(
            actor=user, session=session, event=data.validated_data
        )
        return Response(AdverseEventOutputSerializer(event).data, status=status.HTTP_201_CREATED)
