"""What the sessions list's filters mean (see clinic/filters.py for how filters flow)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from clinic.filters import IdFilter
from clinic.models import Clinic
from scheduling.availability import local_day_bounds
from scheduling.models import InfusionSession, SessionStatus


class SessionFilter(django_filters.FilterSet):
    clinic = IdFilter(field_name="clinic_id")
    patient = IdFilter(field_name="patient_id")
    chair = IdFilter(field_name="chair_id")
    nurse = IdFilter(field_name="nurse_id")
    status = django_filters.ChoiceFilter(choices=SessionStatus.choices)
    date = django_filters.DateFilter(method="starting_on")

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        queryset: QuerySet[InfusionSession] | None = None,
        *,
        clinics: QuerySet[Clinic],
    ) -> None:
        super().__init__(data, queryset=queryset)
        self.clinics = clinics

    def starting_on(
        self, queryset: QuerySet[InfusionSession], name: str, day: datetime.date
    ) -> QuerySet[InfusionSession]:
        """Sessions starting on `day` in their own clinic's time zone: one range per clinic of
        the caller's."""
        on_day = Q(pk__in=[])
        for clinic in self.clinics.only("pk", "timezone"):
            start, end = local_day_bounds(clinic.zone, day)
            on_day |= Q(clinic=clinic, starts_at__gte=start, starts_at__lt=end)
        return queryset.filter(on_day)
