"""What a list's filters mean: django-filter FilterSets that the selectors apply to a queryset
already scoped to the caller.

The APIs validate the query first, with their filter serializers: those say what a valid value
is, word the errors (API.md) and declare the OpenAPI parameters. Here each filter says which
rows its cleaned value selects; a selector takes those values as `filters={...}`, so any
interface (the API, the staff web app) filters the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import django_filters
from django import forms
from django.db.models import Model, QuerySet

from clinic.models import NotificationKind, NotificationStatus, Patient
from config.errors import Invalid

M = TypeVar("M", bound=Model)


class IdFilter(django_filters.NumberFilter):
    """An id: a whole number (NumberFilter's own form field takes decimals)."""

    field_class = forms.IntegerField


def filtered(
    filterset_class: type[django_filters.FilterSet],
    queryset: QuerySet[M],
    filters: Mapping[str, Any] | None,
    **options: Any,
) -> QuerySet[M]:
    """`queryset` narrowed by `filters`. A value the FilterSet refuses is refused, never
    ignored: a filter silently dropped would widen the answer."""
    if not filters:
        return queryset  # most callers (scoping, ingest's session lookup) build no FilterSet
    filterset = filterset_class(dict(filters), queryset=queryset, **options)
    if not filterset.is_valid():
        raise Invalid(fields={name: list(errors) for name, errors in filterset.errors.items()})
    narrowed: QuerySet[M] = filterset.qs
    return narrowed


class ChairFilter(django_filters.FilterSet):
    clinic = IdFilter(field_name="clinic_id")


class PatientFilter(django_filters.FilterSet):
    clinic = IdFilter(field_name="clinic_id")
    search = django_filters.CharFilter(method="name_starts_with")

    def name_starts_with(
        self, queryset: QuerySet[Patient], name: str, value: str
    ) -> QuerySet[Patient]:
        """Patients whose last or first name starts with `value`, in any case."""
        return queryset.filter(last_name__istartswith=value) | queryset.filter(
            first_name__istartswith=value
        )


class AuditEventFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")


class NotificationFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    kind = django_filters.ChoiceFilter(choices=NotificationKind.choices)
    status = django_filters.ChoiceFilter(choices=NotificationStatus.choices)
    session = IdFilter(field_name="session")
