"""HTTP API of the scheduling app: sessions, their lifecycle, availability, series, calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors as clinic_selectors
from clinic.apis import ALL_STAFF, EVERYONE, ListPage, caller
from clinic.models import Role
from config.api.fields import AwareDateTimeField, CalendarDateField, ScopedPrimaryKeyRelatedField
from config.api.pagination import CursorPagination
from config.api.schema import ERROR_RESPONSES
from config.errors import Conflict, Invalid
from scheduling import selectors, services
from scheduling.availability import Slot
from scheduling.calendar import calendar_ics
from scheduling.models import InfusionSeries, InfusionSession, SessionStatus, SessionTransition

BOOKERS = {Role.ADMIN, Role.SCHEDULER}


# --- Serializers ------------------------------------------------------------------------------


class SessionTransitionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionTransition
        fields = ["action", "from_status", "to_status", "actor", "at", "reason"]


class SessionOutputSerializer(serializers.ModelSerializer):
    transitions = SessionTransitionOutputSerializer(many=True, read_only=True)

    class Meta:
        model = InfusionSession
        fields = [
            "id",
            "clinic",
            "patient",
            "protocol",
            "chair",
            "nurse",
            "series",
            "starts_at",
            "ends_at",
            "status",
            "booked_by",
            "booked_at",
            "fasting_confirmed",
            "escort_confirmed",
            "weight_kg",
            "checked_in_at",
            "started_at",
            "completed_at",
            "transitions",
        ]


class SessionBookInputSerializer(serializers.Serializer):
    patient = ScopedPrimaryKeyRelatedField(selector=clinic_selectors.patient_list)
    protocol = ScopedPrimaryKeyRelatedField(selector=clinic_selectors.protocol_list)
    chair = ScopedPrimaryKeyRelatedField(selector=clinic_selectors.chair_list)
    starts_at = AwareDateTimeField()
    nurse = ScopedPrimaryKeyRelatedField(
        selector=clinic_selectors.nurse_list, required=False, allow_null=True, default=None
    )


class SessionFilterSerializer(serializers.Serializer):
    clinic = serializers.IntegerField(required=False, min_value=1)
    date = CalendarDateField(required=False)
    patient = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=SessionStatus.choices, required=False)


class CheckInInputSerializer(serializers.Serializer):
    fasting_confirmed = serializers.BooleanField()
    escort_confirmed = serializers.BooleanField()
    weight_kg = serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        min_value=Decimal("20"),
        max_value=Decimal("400"),
        required=False,
        allow_null=True,
        default=None,
    )


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class RescheduleInputSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField()
    chair = ScopedPrimaryKeyRelatedField(
        selector=clinic_selectors.chair_list, required=False, allow_null=True, default=None
    )


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


class AvailabilityFilterSerializer(serializers.Serializer):
    clinic = serializers.IntegerField(min_value=1)
    protocol = serializers.IntegerField(min_value=1)
    date = CalendarDateField()


class AvailabilityOutputSerializer(serializers.Serializer):
    results = SlotOutputSerializer(many=True)


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


# --- Sessions -----------------------------------------------------------------------------------


def session_response(session: InfusionSession, code: int = status.HTTP_200_OK) -> Response:
    session = selectors.session_with_transitions(session_id=session.pk)
    return Response(SessionOutputSerializer(session).data, status=code)


class SessionListApi(APIView):
    allowed_roles = {"GET": EVERYONE, "POST": BOOKERS}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="sessions_list",
        parameters=[SessionFilterSerializer],
        responses={200: SessionOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = SessionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = ListPage(request=request, view=self)
        sessions = selectors.session_page_read(
            user=caller(request), filters=filters.validated_data, cut=page.cut
        )
        return page.response(sessions, SessionOutputSerializer)

    @extend_schema(
        operation_id="sessions_create",
        request=SessionBookInputSerializer,
        responses={201: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = SessionBookInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        session = services.session_book(actor=caller(request), **data.validated_data)
        return session_response(session, status.HTTP_201_CREATED)


class SessionDetailApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @extend_schema(
        operation_id="sessions_retrieve",
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, session_id: int) -> Response:
        session = selectors.session_read(user=caller(request), session_id=session_id)
        return Response(SessionOutputSerializer(session).data)


class SessionCheckInApi(APIView):
    allowed_roles = {"POST": {Role.NURSE, Role.SCHEDULER}}

    @extend_schema(
        operation_id="sessions_check_in",
        request=CheckInInputSerializer,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        data = CheckInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return session_response(
            services.session_check_in(actor=user, session=session, **data.validated_data)
        )


class SessionCompleteApi(APIView):
    allowed_roles = {"POST": {Role.NURSE, Role.CLINICIAN}}

    @extend_schema(
        operation_id="sessions_complete",
        request=None,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        return session_response(services.session_complete(actor=user, session=session))


class SessionCancelApi(APIView):
    allowed_roles = {"POST": {Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN}}

    @extend_schema(
        operation_id="sessions_cancel",
        request=ReasonInputSerializer,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        data = ReasonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return session_response(
            services.session_cancel(actor=user, session=session, **data.validated_data)
        )


class SessionNoShowApi(APIView):
    allowed_roles = {"POST": {Role.ADMIN, Role.SCHEDULER, Role.NURSE}}

    @extend_schema(
        operation_id="sessions_no_show",
        request=None,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        return session_response(services.session_mark_no_show(actor=user, session=session))


class SessionRescheduleApi(APIView):
    allowed_roles = {"POST": BOOKERS}

    @extend_schema(
        operation_id="sessions_reschedule",
        request=RescheduleInputSerializer,
        responses={200: SessionOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        session = selectors.session_get(user=user, session_id=session_id)
        data = RescheduleInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return session_response(
            services.session_reschedule(actor=user, session=session, **data.validated_data)
        )


def _require_offered(*, protocol: Any, clinic: Any) -> None:
    if not selectors.protocol_offered_by(protocol=protocol, clinic=clinic):
        raise Invalid(
            "invalid",
            "This protocol belongs to another clinic.",
            fields={"protocol": ["This protocol belongs to another clinic."]},
        )


# --- Availability and series -------------------------------------------------------------------


class AvailabilityApi(APIView):
    allowed_roles = {"GET": ALL_STAFF}

    @extend_schema(
        operation_id="availability",
        parameters=[AvailabilityFilterSerializer],
        responses={200: AvailabilityOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = AvailabilityFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        user = caller(request)
        clinic = clinic_selectors.clinic_get(user=user, clinic_id=filters.validated_data["clinic"])
        protocol = clinic_selectors.protocol_get(
            user=user, protocol_id=filters.validated_data["protocol"]
        )
        _require_offered(protocol=protocol, clinic=clinic)
        slots = selectors.availability(
            clinic=clinic, protocol=protocol, day=filters.validated_data["date"], now=timezone.now()
        )
        return Response({"results": [slot_json(slot) for slot in slots]})


class SeriesApi(APIView):
    allowed_roles = {"POST": BOOKERS}

    @extend_schema(
        operation_id="series_create",
        request=SeriesInputSerializer,
        responses={201: SeriesOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = SeriesInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        series = services.series_book(actor=caller(request), **data.validated_data)
        series = selectors.series_with_sessions(series_id=series.pk)
        return Response(SeriesOutputSerializer(series).data, status=status.HTTP_201_CREATED)


class SeriesSuggestApi(APIView):
    allowed_roles = {"GET": {Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN}}

    @extend_schema(
        operation_id="series_suggest",
        parameters=[SeriesSuggestFilterSerializer],
        responses={200: SeriesSuggestionOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = SeriesSuggestFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
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


# --- Calendar feed ------------------------------------------------------------------------------


class PatientCalendarApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @extend_schema(
        operation_id="patients_sessions_ics",
        responses={(200, "text/calendar"): OpenApiTypes.BINARY, **ERROR_RESPONSES},
    )
    def get(self, request: Request, patient_id: int) -> HttpResponse:
        patient, sessions = selectors.patient_calendar_read(
            user=caller(request), patient_id=patient_id
        )
        events = [services.session_calendar_event(session) for session in sessions]
        body = calendar_ics(events, name=f"{patient.clinic.name} infusions")
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="infusions.ics"'
        return response
