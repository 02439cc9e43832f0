"""Reads of alerts, scoped to the caller's clinics."""

from __future__ import annotations

from django.db.models import QuerySet

from clinic.models import Role, User
from clinic.selectors import clinic_list
from config.errors import get_or_not_found
from monitoring.models import (
    Alert,
)


def alert_list(*, user: User) -> QuerySet[Alert]:
    if user.effective_role == Role.PATIENT:
        return Alert.objects.none()
    return Alert.objects.filter(clinic__in=clinic_list(user=user))


def alert_get(*, user: User, alert_id: object) -> Alert:
    return get_or_not_found(alert_list(user=user), pk=alert_id)
