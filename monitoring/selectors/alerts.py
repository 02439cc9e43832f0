"""Reads of alerts, scoped to the caller's clinics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from clinic.filters import filtered
from clinic.models import Role, User
from clinic.selectors import clinic_list
from config.errors import get_or_not_found
from monitoring.filters import AlertFilter
from monitoring.models import (
    Alert,
)


def alert_list(*, user: User, filters: Mapping[str, Any] | None = None) -> QuerySet[Alert]:
    """The alerts of the caller's clinics, narrowed by `filters` (monitoring/filters.py)."""
    if user.effective_role == Role.PATIENT:
        return Alert.objects.none()
    return filtered(AlertFilter, Alert.objects.filter(clinic__in=clinic_list(user=user)), filters)


def alert_get(*, user: User, alert_id: object) -> Alert:
    return get_or_not_found(alert_list(user=user), pk=alert_id)
