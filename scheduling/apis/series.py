"""An induction series as a unit: its record (GET /series/{id}/) and the cancellation of what
is left of it (POST /series/{id}/cancel/). Booking and suggesting a series are in slots.py."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.apis import ALL_STAFF, caller
from config.api.schema import api_operation
from config.api.validation import validated_body
from scheduling import selectors, services
from scheduling.apis.slots import SeriesOutputSerializer
from scheduling.apis.status import ReasonInputSerializer, SessionCancelApi


class SeriesDetailApi(APIView):
    allowed_roles = {"GET": ALL_STAFF}

    @api_operation(
        "series_retrieve",
        description="The series with its sessions, in start order.",
        responses={200: SeriesOutputSerializer},
    )
    def get(self, request: Request, series_id: int) -> Response:
        series = selectors.series_read(user=caller(request), series_id=series_id)
        return Response(SeriesOutputSerializer(series).data)


class SeriesCancelOutputSerializer(serializers.Serializer):
    series = SeriesOutputSerializer()
    cancelled = serializers.ListField(
        child=serializers.IntegerField(), help_text="The sessions this call cancelled."
    )
    already_begun = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Sessions checked in or later: left as they were.",
    )


class SeriesCancelApi(APIView):
    # Who may cancel a series: whoever may cancel one of its sessions.
    allowed_roles = {"POST": SessionCancelApi.allowed_roles["POST"]}

    @api_operation(
        "series_cancel",
        description=(
            "Cancel every session of the series not yet begun (scheduled), their reminders "
            "too, with one reason; sessions checked in or later are left and listed."
        ),
        request=ReasonInputSerializer,
        responses={200: SeriesCancelOutputSerializer},
    )
    def post(self, request: Request, series_id: int) -> Response:
        user = caller(request)
        series = selectors.series_get(user=user, series_id=series_id)
        values = validated_body(ReasonInputSerializer, request)
        result = services.series_cancel(actor=user, series=series, **values)
        body = {
            "series": selectors.series_with_sessions(series_id=series.pk),
            "cancelled": result.cancelled,
            "already_begun": result.already_begun,
        }
        return Response(SeriesCancelOutputSerializer(body).data)
