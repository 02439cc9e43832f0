"""HTTP API of the session's record: the summary and the chart."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.apis import caller
from config.api.schema import api_operation
from monitoring import charts, selectors
from monitoring.apis.vitals import CLINICAL_STAFF

# --- Summary and chart ----------------------------------------------------------------------------


class SessionSummaryApi(APIView):
    allowed_roles = {"GET": CLINICAL_STAFF}

    @api_operation("sessions_summary", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, session_id: int) -> Response:
        user = caller(request)
        return Response(selectors.session_summary(user=user, session_id=session_id))


class SessionChartApi(APIView):
    allowed_roles = {"GET": CLINICAL_STAFF}

    @api_operation("sessions_chart", responses={(200, "image/svg+xml"): OpenApiTypes.BINARY})
    def get(self, request: Request, session_id: int) -> HttpResponse:
        user = caller(request)
        svg = charts.session_chart_svg(
            **selectors.session_chart_data(user=user, session_id=session_id)
        )
        return HttpResponse(svg, content_type="image/svg+xml")
