"""Free slots: a day's availability, and an induction series (suggested, then booked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors as clinic_selectors
from clinic.apis import ALL_STAFF, caller
from clinic.models import Role
from config.api.fields import AwareDateTimeField, CalendarDateField, ScopedPrimaryKeyRelatedField
from config.api.schema import api_operation
from config.api.validation import validated_body, validated_query
from config.errors import Conflict, Invalid
from scheduling import selectors, services
from scheduling.apis.sessions import BOOKERS, SessionOutputSerializer
from scheduling.availability import Slot
from scheduling.models import InfusionSeries


class SlotOutputSerializer(serializers.Serializer):
    """The shape of a free start (the schema's); slot_json writes it."""

    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    chair = serializers.IntegerField(source="chair_id")


def _utc_iso(moment: datetime) -> str:
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def slot_json(slot: Slot) -> dict[str, Any]:
    """What SlotOutputSerializer gives, without its per-field machinery: a quiet day has
    hundreds of free starts, and serializing them was 40% of an availability request."""
    return {
        "starts_at": _utc_iso(slot.starts_at),
        "ends_at": _utc_iso(slot.ends_at),
        "chair": slot.chair_id,
    }


class AvailableSlotOutputSerializer(SlotOutputSerializer):
    """A free start on one chair, with the chair's name, the start on the clinic's clock and the
    nurses free to take the patient then. (offered_slot_json writes it.)"""

    chair_name = serializers.CharField()
    local_start = serializers.DateTimeField(
        help_text="The start on the clinic's clock, with its UTC offset."
    )
    nurses = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The clinic's nurses who could take the patient then (concurrent-patient limit).",
    )


def offered_slot_json(offered: selectors.OfferedSlot) -> dict[str, Any]:
    """A free start of the availability list, written by hand like slot_json."""
    return {
        **slot_json(offered.slot),
        "chair_name": offered.chair_name,
        "local_start": offered.local_start.isoformat(),
        "nurses": offered.nurse_ids,
    }


class AvailabilityFilterSerializer(serializers.Serializer):
    clinic = serializers.IntegerField(min_value=1)
    protocol = serializers.IntegerField(min_value=1)
    date = CalendarDateField()
    patient = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Only starts this patient could take: apart from their bookings by the "
        "clinic's minimum hours between infusions.",
    )


class AvailabilityOutputSerializer(serializers.Serializer):
    results = AvailableSlotOutputSerializer(many=True)


class SeriesInputSerializer(serializers.Serializer):
    patient = ScopedPrimaryKeyRelatedField(selector=clinic_selectors.patient_list)
    protocol = ScopedPrimaryKeyRelatedField(selector=clinic_selectors.protocol_list)
    chair = ScopedPrimaryKeyRelatedField(
        selector=clinic_selectors.chair_list, required=False, allow_null=True, default=None
    )
    starts_at = serializers.ListField(
        child=AwareDateTimeField(), min_length=1, max_length=services.MAX_SERIES_SESSIONS
    )


class SeriesOutputSerializer(serializers.ModelSerializer):
    sessions = SessionOutputSerializer(many=True, read_only=True)

    class Meta:
        model = InfusionSeries
        fields = ["id", "patient", "protocol", "created_at", "sessions"]


class SeriesSuggestFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(min_value=1)
    protocol = serializers.IntegerField(min_value=1)
    count = serializers.IntegerField(min_value=1, max_value=services.MAX_SERIES_SESSIONS, default=6)
    within_days = serializers.IntegerField(min_value=1, max_value=90, default=21)
    time = serializers.TimeField(required=False, help_text="Preferred local start time.")
    start_date = CalendarDateField(required=False, help_text="First day (default tomorrow).")


class SeriesSuggestionOutputSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    protocol = serializers.IntegerField()
    starts_at = serializers.ListField(child=serializers.DateTimeField())
    sessions = SlotOutputSerializer(many=True)


def _require_offered(*, protocol: Any, clinic: Any) -> None:
    if not selectors.protocol_offered_by(protocol=protocol, clinic=clinic):
        raise Invalid(
            "invalid",
            "This protocol belongs to another clinic.",
            fields={"protocol": ["This protocol belongs to another clinic."]},
        )


class AvailabilityApi(APIView):
    allowed_roles = {"GET": ALL_STAFF}

    @api_operation(
        "availability",
        parameters=[AvailabilityFilterSerializer],
        responses={200: AvailabilityOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        wanted = validated_query(AvailabilityFilterSerializer, request)
        offered = selectors.availability_read(
            user=caller(request),
            clinic_id=wanted["clinic"],
            protocol_id=wanted["protocol"],
            patient_id=wanted.get("patient"),
            day=wanted["date"],
            now=timezone.now(),
        )
        return Response({"results": [offered_slot_json(slot) for slot in offered]})


class SeriesApi(APIView):
    allowed_roles = {"POST": BOOKERS}

    @api_operation(
        "series_create", request=SeriesInputSerializer, responses={201: SeriesOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        values = validated_body(SeriesInputSerializer, request)
        series = services.series_book(actor=caller(request), **values)
        series = selectors.series_with_sessions(series_id=series.pk)
        return Response(SeriesOutputSerializer(series).data, status=status.HTTP_201_CREATED)


class SeriesSuggestApi(APIView):
    allowed_roles = {"GET": {Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN}}

    @api_operation(
        "series_suggest",
        parameters=[SeriesSuggestFilterSerializer],
        responses={200: SeriesSuggestionOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        wanted = validated_query(SeriesSuggestFilterSerializer, request)
        user = caller(request)
        patient = clinic_selectors.patient_get(user=user, patient_id=wanted["patient"])
        protocol = clinic_selectors.protocol_get(user=user, protocol_id=wanted["protocol"])
        clinic = patient.clinic
        now = timezone.now()
        _require_offered(protocol=protocol, clinic=clinic)
        preferred = wanted.get("time") or selectors.usual_start_time(
            patient_id=patient.pk, clinic=clinic
        )
        first_day = wanted.get("start_date") or (
            now.astimezone(clinic.zone).date() + timedelta(days=1)
        )
        slots = selectors.series_suggestion(
            clinic=clinic,
            patient_id=patient.pk,
            protocol=protocol,
            first_day=first_day,
            count=wanted["count"],
            within_days=wanted["within_days"],
            preferred_time=preferred,
            now=now,
        )
        count, days = wanted["count"], wanted["within_days"]
        if len(slots) < count:
            raise Conflict(
                "no_availability",
                f"Only {len(slots)} of {count} sessions fit in {days} days.",
                extra={"found": len(slots)},
            )
        body = {
            "patient": patient.pk,
            "protocol": protocol.pk,
            "starts_at": [slot.starts_at for slot in slots],
            "sessions": slots,
        }
        return Response(SeriesSuggestionOutputSerializer(body).data)
