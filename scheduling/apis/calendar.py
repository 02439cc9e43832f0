"""The patient's calendar feed (iCalendar) of their sessions."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from rest_framework.request import Request
from rest_framework.views import APIView

from clinic.apis import EVERYONE, caller
from config.api.schema import api_operation
from scheduling import selectors, services
from scheduling.calendar import calendar_ics


class PatientCalendarApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @api_operation("patients_sessions_ics", responses={(200, "text/calendar"): OpenApiTypes.BINARY})
    def get(self, request: Request, patient_id: int) -> HttpResponse:
        patient, sessions = selectors.patient_calendar_read(
            user=caller(request), patient_id=patient_id
        )
        events = [services.session_calendar_event(session) for session in sessions]
        body = calendar_ics(events, name=f"{patient.clinic.name} infusions")
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="infusions.ics"'
        return response
