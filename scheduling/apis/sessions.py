"""Sessions: booking, the list and a session's record, rescheduling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors as clinic_selectors
from clinic.apis import EVERYONE, ListApi, ListPage, caller
from clinic.models import Role, User
from config.api.fields import AwareDateTimeField, CalendarDateField, ScopedPrimaryKeyRelatedField
from config.api.schema import api_operation
from config.api.validation import validated_body
from scheduling import selectors, services
from scheduling.models import InfusionSession, SessionStatus, SessionTransition

BOOKERS = {Role.ADMIN, Role.SCHEDULER}


class SessionTransitionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionTransition
        fields = ["action", "from_status", "to_status", "actor", "at", "reason"]


class SessionOutputSerializer(serializers.ModelSerializer):
    transitions = SessionTransitionOutputSerializer(many=True, read_only=True)
    # What the ids name, for people reading the record (API.md).
    patient_name = serializers.SerializerMethodField()
    chair_name = serializers.CharField(source="chair.name", read_only=True)
    protocol_name = serializers.CharField(source="protocol.name", read_only=True)
    nurse_name = serializers.SerializerMethodField()

    def get_patient_name(self, session: InfusionSession) -> str:
        return f"{session.patient.first_name} {session.patient.last_name}"

    def get_nurse_name(self, session: InfusionSession) -> str | None:
        nurse = session.nurse
        return None if nurse is None else nurse.get_full_name() or nurse.get_username()

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
            "escort_confirmed_by",
            "escort_confirmed_at",
            "escort_name",
            "escort_phone",
            "checked_in_at",
            "started_at",
            "completed_at",
            "discharge_arrangement",
            "discharge_reason",
            "patient_name",
            "chair_name",
            "protocol_name",
            "nurse_name",
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
    chair = serializers.IntegerField(required=False, min_value=1)
    nurse = serializers.IntegerField(required=False, min_value=1)


class RescheduleInputSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField()
    chair = ScopedPrimaryKeyRelatedField(
        selector=clinic_selectors.chair_list, required=False, allow_null=True, default=None
    )


def session_response(session: InfusionSession, code: int = status.HTTP_200_OK) -> Response:
    session = selectors.session_with_transitions(session_id=session.pk)
    return Response(SessionOutputSerializer(session).data, status=code)


class SessionActionApi(APIView):
    # An action on one session, POSTed to /sessions/{id}/<action>/: the session in the caller's
    # scope, the body checked by `input_serializer_class` (None: the action takes no input),
    # `service(actor=, session=, **body)`, and the session with its transitions in the answer.
    # A subclass declares those and its `operation_id`; POST's OpenAPI operation is built from
    # them, the same for every action. No docstring here: drf-spectacular would publish it as
    # every action's description.
    operation_id: ClassVar[str]
    input_serializer_class: ClassVar[type[serializers.Serializer] | None]
    service: ClassVar[Callable[..., InfusionSession]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        extend_schema_view(
            post=api_operation(
                cls.operation_id,
                request=cls.input_serializer_class,
                responses={200: SessionOutputSerializer},
            )
        )(cls)

    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        body = self.input_serializer_class
        values = validated_body(body, request) if body is not None else {}
        return session_response(self.service(actor=user, session=session, **values))


class SessionListApi(ListApi):
    allowed_roles = {"GET": EVERYONE, "POST": BOOKERS}
    list_operation_id = "sessions_list"
    filter_serializer_class = SessionFilterSerializer
    output_serializer_class = SessionOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[InfusionSession]:
        return selectors.session_page_read(user=user, filters=filters, cut=page.cut)

    @api_operation(
        "sessions_create",
        request=SessionBookInputSerializer,
        responses={201: SessionOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        values = validated_body(SessionBookInputSerializer, request)
        session = services.session_book(actor=caller(request), **values)
        return session_response(session, status.HTTP_201_CREATED)


class SessionDetailApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @api_operation("sessions_retrieve", responses={200: SessionOutputSerializer})
    def get(self, request: Request, session_id: int) -> Response:
        session = selectors.session_read(user=caller(request), session_id=session_id)
        return Response(SessionOutputSerializer(session).data)


class SessionRescheduleApi(SessionActionApi):
    allowed_roles = {"POST": BOOKERS}
    operation_id = "sessions_reschedule"
    input_serializer_class = RescheduleInputSerializer
    service = staticmethod(services.session_reschedule)
