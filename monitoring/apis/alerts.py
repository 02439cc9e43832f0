"""HTTP API of alerts: the list and acknowledgement."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.apis import ListApi, ListPage, caller
from clinic.models import User
from clinic.selectors import clinic_list
from config.api.schema import api_operation
from config.api.validation import validated_body
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
            "paged",
            "unreachable",
        ]
        extra_kwargs = {
            "paged": {"help_text": "The staff ids its pages went to, every level."},
            "unreachable": {"help_text": "A page found nobody reachable and went up the chain."},
        }


class AlertFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    session = serializers.IntegerField(required=False, min_value=1)
    patient = serializers.IntegerField(required=False, min_value=1)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    parameter = serializers.ChoiceField(choices=AlertParameter.choices, required=False)


class AlertListApi(ListApi):
    allowed_roles = {"GET": CLINICAL_STAFF}
    list_operation_id = "alerts_list"
    filter_serializer_class = AlertFilterSerializer
    output_serializer_class = AlertOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[Alert]:
        return page.cut(selectors.alert_list(user=user, filters=filters))

    def get(self, request: Request) -> Response:
        response = super().get(request)
        # A clinic whose clinicians no page can reach is said where alerts are watched.
        warnings = selectors.paging_warnings(clinic_list(user=caller(request)))
        if warnings:
            response.data["warnings"] = warnings
        return response


class AcknowledgeInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, allow_blank=True, default="")


class AlertAcknowledgeApi(APIView):
    allowed_roles = {"POST": CLINICAL_STAFF}

    @api_operation(
        "alerts_acknowledge",
        request=AcknowledgeInputSerializer,
        responses={200: AlertOutputSerializer},
    )
    def post(self, request: Request, alert_id: int) -> Response:
        user = caller(request)
        alert = selectors.alert_get(user=user, alert_id=alert_id)
        values = validated_body(AcknowledgeInputSerializer, request)
        alert = services.alert_acknowledge(actor=user, alert=alert, **values)
        return Response(AlertOutputSerializer(alert).data)
