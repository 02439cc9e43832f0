"""What the clinic keeps about what happened: the audit trail and the notifications outbox."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors
from clinic.apis.common import ListPage, caller
from clinic.models import AuditEvent, Notification, NotificationKind, NotificationStatus, Role
from config.api.pagination import CursorPagination, paginated_response
from config.api.schema import ERROR_RESPONSES

# --- Audit ------------------------------------------------------------------------------------


class AuditEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "actor",
            "role",
            "action",
            "object_type",
            "object_id",
            "patient",
            "at",
            "ip",
        ]


class AuditEventFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False, min_value=1)


class AuditEventListApi(APIView):
    allowed_roles = {"GET": {Role.ADMIN}}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="audit_events_list",
        parameters=[AuditEventFilterSerializer],
        responses={200: AuditEventOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = AuditEventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = selectors.audit_event_list(user=caller(request), filters=filters.validated_data)
        response, _ = paginated_response(
            request=request, view=self, queryset=events, serializer_class=AuditEventOutputSerializer
        )
        return response


# --- Notifications ----------------------------------------------------------------------------


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = [
            "id",
            "channel",
            "recipient",
            "kind",
            "status",
            "scheduled_for",
            "sent_at",
            "session",
            "survey",
            "patient",
            "attempts",
            "last_error",
            "created_at",
        ]


class NotificationFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False, min_value=1)
    kind = serializers.ChoiceField(choices=NotificationKind.choices, required=False)
    status = serializers.ChoiceField(choices=NotificationStatus.choices, required=False)
    session = serializers.IntegerField(required=False, min_value=1)


class NotificationListApi(APIView):
    allowed_roles = {"GET": {Role.ADMIN}}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="notifications_list",
        parameters=[NotificationFilterSerializer],
        responses={200: NotificationOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = NotificationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = ListPage(request=request, view=self)
        notifications = selectors.notification_page_read(
            user=caller(request), filters=filters.validated_data, cut=page.cut
        )
        return page.response(notifications, NotificationOutputSerializer)
