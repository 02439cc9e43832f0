"""Serializer fields shared by the apps' APIs."""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id in a request body, resolved only among what the caller may see: an id outside
    their scope is as unknown as one that does not exist."""

    def __init__(self, *, selector: Callable[..., QuerySet[Any]], **kwargs: Any) -> None:
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return self.selector(user=self.context["request"].user)


# Dates a clinic can mean. Outside them, date arithmetic (a day's end, a booking's end)
# would overflow Python's datetime: a 500 for a client's typo.
YEARS = (2000, 2200)


class CalendarDateField(serializers.DateField):
    default_error_messages = {"range": f"Must be between the years {YEARS[0]} and {YEARS[1]}."}

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if not YEARS[0] <= parsed.year <= YEARS[1]:
            self.fail("range")
        return parsed


class AwareDateTimeField(serializers.DateTimeField):
    """A timestamp with an explicit offset (API.md): a naive one is ambiguous, so refused."""

    default_error_messages = {
        "naive": "Give the time with its offset, e.g. 2026-03-09T14:00:00-04:00.",
        "range": f"Must be between the years {YEARS[0]} and {YEARS[1]}.",
    }

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        raw = parse_datetime(value) if isinstance(value, str) else None
        if raw is not None and raw.tzinfo is None:
            self.fail("naive")
        if not YEARS[0] <= parsed.year <= YEARS[1]:
            self.fail("range")
        return parsed
