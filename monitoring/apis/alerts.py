"""HTTP API of alerts: the list and acknowledgement."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.apis import caller
from config.api.pagination import CursorPagination, paginated_response
from config.api.schema import ERROR_RESPONSES
from monitoring import selectors, services
from monitoring.apis.vitals import CLINICAL_STAFF
from monitoring.models import (
    Alert,
    AlertParameter,
    AlertStatus,
    Severity,
)

# --- Alerts ---------------------------------------------------------------------------------------


class AlertOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "session",
            "patient",
            "reading",
            "parameter",
            "severity",
            "status",
            "message",
            "value",
            "created_at",
            "acknowledged_by",
            "acknowledged_at",
            "note",
            "escalation_level",
        ]


class AlertFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    session = serializers.IntegerField(required=False, min_value=1)
    patient = serializers.IntegerField(required=False, min_value=1)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    parameter = serializers.ChoiceField(choices=AlertParameter.choices, required=False)


class AlertListApi(APIView):
    allowed_roles = {"GET": CLINICAL_STAFF}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="alerts_list",
        parameters=[AlertFilterSerializer],
        responses={200: AlertOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = AlertFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        alerts = selectors.alert_list(user=caller(request), filters=filters.validated_data)
        response, _ = paginated_response(
            request=request, view=self, queryset=alerts, serializer_class=AlertOutputSerializer
        )
        return response


class AcknowledgeInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, allow_blank=True, default="")


class AlertAcknowledgeApi(APIView):
    allowed_roles = {"POST": CLINICAL_STAFF}

    @extend_schema(
        operation_id="alerts_acknowledge",
        request=AcknowledgeInputSerializer,
        responses={200: AlertOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, alert_id: int) -> Response:
        user = caller(request)
        alert = selectors.alert_get(user=user, alert_id=alert_id)
        data = AcknowledgeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = services.alert_acknowledge(actor=user, alert=alert, **data.validated_data)
        return Response(AlertOutputSerializer(alert).data)
