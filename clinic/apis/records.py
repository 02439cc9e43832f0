"""What the clinic keeps about what happened: the audit trail and the notifications outbox."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from clinic import selectors
from clinic.apis.common import ListApi, ListPage
from clinic.models import AuditEvent, Notification, NotificationKind, NotificationStatus, Role, User

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


class AuditEventListApi(ListApi):
    allowed_roles = {"GET": {Role.ADMIN}}
    list_operation_id = "audit_events_list"
    filter_serializer_class = AuditEventFilterSerializer
    output_serializer_class = AuditEventOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[AuditEvent]:
        return page.cut(selectors.audit_event_list(user=user, filters=filters))


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


class NotificationListApi(ListApi):
    allowed_roles = {"GET": {Role.ADMIN}}
    list_operation_id = "notifications_list"
    filter_serializer_class = NotificationFilterSerializer
    output_serializer_class = NotificationOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[Notification]:
        return selectors.notification_page_read(user=user, filters=filters, cut=page.cut)
