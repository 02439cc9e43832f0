"""The status changes the scheduling API offers: check-in, completion, cancellation, no-show
(monitoring's gates start, stop and discharge; scheduling/services/status.py applies them all)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.apis import caller
from clinic.models import Role
from config.api.schema import ERROR_RESPONSES
from scheduling import selectors, services
from scheduling.apis.sessions import SessionOutputSerializer, session_response


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


class SessionCheckInApi(APIView):
    allowed_roles = {"POST": {Role.NURSE, Role.SCHEDULER}}

    @extend_schema(
        operation_id="sessions_check_in",
        request=CheckInInputSerializer,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        data = CheckInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return session_response(
            services.session_check_in(actor=user, session=session, **data.validated_data)
        )


class SessionCompleteApi(APIView):
    allowed_roles = {"POST": {Role.NURSE, Role.CLINICIAN}}

    @extend_schema(
        operation_id="sessions_complete",
        request=None,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        return session_response(services.session_complete(actor=user, session=session))


class SessionCancelApi(APIView):
    allowed_roles = {"POST": {Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN}}

    @extend_schema(
        operation_id="sessions_cancel",
        request=ReasonInputSerializer,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return session_response(
            services.session_cancel(actor=user, session=session, **data.validated_data)
        )


class SessionNoShowApi(APIView):
    allowed_roles = {"POST": {Role.ADMIN, Role.SCHEDULER, Role.NURSE}}

    @extend_schema(
        operation_id="sessions_no_show",
        request=None,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        return session_response(services.session_mark_no_show(actor=user, session=session))
