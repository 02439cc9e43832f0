"""Sessions: booking, the list and a session's record, rescheduling."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors as clinic_selectors
from clinic.apis import EVERYONE, ListPage, caller
from clinic.models import Role
from config.api.fields import AwareDateTimeField, CalendarDateField, ScopedPrimaryKeyRelatedField
from config.api.pagination import CursorPagination
from config.api.schema import ERROR_RESPONSES
from scheduling import selectors, services
from scheduling.models import InfusionSession, SessionStatus, SessionTransition

BOOKERS = {Role.ADMIN, Role.SCHEDULER}


class SessionTransitionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionTransition
        fields = ["action", "from_status", "to_status", "actor", "at", "reason"]


class SessionOutputSerializer(serializers.ModelSerializer):
    transitions = SessionTransitionOutputSerializer(many=True, read_only=True)

    class Meta:
        model = InfusionSession
        fields = [
            "id",
            "clinic",
            "patient",
            "protocol",
            "chair",
            "nurse",
            "series",
            "starts_at",
            "ends_at",
            "status",
            "booked_by",
            "booked_at",
            "fasting_confirmed",
            "escort_confirmed",
            "weight_kg",
            "checked_in_at",
            "started_at",
            "completed_at",
            "transitions",
        ]


class SessionBookInputSerializer(serializers.Serializer):
    patient = ScopedPrimaryKeyRelatedField(selector=clinic_selectors.patient_list)
    protocol = ScopedPrimaryKeyRelatedField(selector=clinic_selectors.protocol_list)
    chair = ScopedPrimaryKeyRelatedField(selector=clinic_selectors.chair_list)
    starts_at = AwareDateTimeField()
    nurse = ScopedPrimaryKeyRelatedField(
        selector=clinic_selectors.nurse_list, required=False, allow_null=True, default=None
    )


class SessionFilterSerializer(serializers.Serializer):
    clinic = serializers.IntegerField(required=False, min_value=1)
    date = CalendarDateField(required=False)
    patient = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=SessionStatus.choices, required=False)


class RescheduleInputSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField()
    chair = ScopedPrimaryKeyRelatedField(
        selector=clinic_selectors.chair_list, required=False, allow_null=True, default=None
    )


def session_response(session: InfusionSession, code: int = status.HTTP_200_OK) -> Response:
    session = selectors.session_with_transitions(session_id=session.pk)
    return Response(SessionOutputSerializer(session).data, status=code)


class SessionListApi(APIView):
    allowed_roles = {"GET": EVERYONE, "POST": BOOKERS}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="sessions_list",
        parameters=[SessionFilterSerializer],
        responses={200: SessionOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = SessionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = ListPage(request=request, view=self)
        sessions = selectors.session_page_read(
            user=caller(request), filters=filters.validated_data, cut=page.cut
        )
        return page.response(sessions, SessionOutputSerializer)

    @extend_schema(
        operation_id="sessions_create",
        request=SessionBookInputSerializer,
        responses={201: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = SessionBookInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        session = services.session_book(actor=caller(request), **data.validated_data)
        return session_response(session, status.HTTP_201_CREATED)


class SessionDetailApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @extend_schema(
        operation_id="sessions_retrieve",
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, session_id: int) -> Response:
        session = selectors.session_read(user=caller(request), session_id=session_id)
        return Response(SessionOutputSerializer(session).data)


class SessionRescheduleApi(APIView):
    allowed_roles = {"POST": BOOKERS}

    @extend_schema(
        operation_id="sessions_reschedule",
        request=RescheduleInputSerializer,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        data = RescheduleInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return session_response(
            services.session_reschedule(actor=user, session=session, **data.validated_data)
        )
