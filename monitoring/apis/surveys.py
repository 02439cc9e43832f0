"""HTTP API of questionnaires: instruments, surveys, the patient's link (the JSON twin of the
survey pages) and outcomes."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors as clinic_selectors
from clinic.apis import ALL_STAFF, EVERYONE, ListApi, ListPage, caller
from clinic.models import Role, User
from config.api.fields import AwareDateTimeField, ScopedPrimaryKeyRelatedField
from config.api.schema import ERROR_RESPONSES, api_operation, whole_list
from config.api.validation import validated_body
from config.request_context import client_ip_of
from monitoring import charts, instruments, selectors, services
from monitoring.models import (
    Survey,
    SurveySource,
    SurveyStatus,
)
from monitoring.public import public_rate_check

# --- Questionnaires ------------------------------------------------------------------------------


class AnswerOptionOutputSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    text = serializers.CharField()


class InstrumentItemOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    text = serializers.CharField()
    loinc = serializers.CharField(allow_null=True)
    scored = serializers.BooleanField()
    options = AnswerOptionOutputSerializer(many=True)


class SeverityBandOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    low = serializers.IntegerField()
    high = serializers.IntegerField()


class InstrumentOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    title = serializers.CharField()
    recall_period = serializers.CharField()
    panel_loinc = serializers.CharField()
    total_loinc = serializers.CharField()
    max_score = serializers.IntegerField()
    items = InstrumentItemOutputSerializer(many=True)
    bands = SeverityBandOutputSerializer(many=True)


class InstrumentListApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @api_operation("instruments_list", responses={200: whole_list(InstrumentOutputSerializer)})
    def get(self, request: Request) -> Response:
        data = InstrumentOutputSerializer(list(instruments.INSTRUMENTS.values()), many=True).data
        return Response({"results": data, "next": None})


class SurveyInputSerializer(serializers.Serializer):
    patient = ScopedPrimaryKeyRelatedField(selector=clinic_selectors.patient_list)
    instrument = serializers.ChoiceField(choices=sorted(instruments.INSTRUMENTS))
    due_at = AwareDateTimeField(required=False, allow_null=True, default=None)


class SurveyOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Survey
        fields = [
            "id",
            "patient",
            "instrument",
            "status",
            "source",
            "session",
            "due_at",
            "expires_at",
            "created_at",
            "completed_at",
        ]


class SurveyCreatedOutputSerializer(SurveyOutputSerializer):
    url = serializers.SerializerMethodField()

    class Meta(SurveyOutputSerializer.Meta):
        fields = [*SurveyOutputSerializer.Meta.fields, "url"]

    def get_url(self, survey: Survey) -> str:
        """The patient's link. Shown once, here: only the token's hash is kept."""
        return services.survey_url(self.context["raw_token"])


class SurveyFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=SurveyStatus.choices, required=False)
    instrument = serializers.ChoiceField(choices=sorted(instruments.INSTRUMENTS), required=False)


class SurveyListApi(ListApi):
    allowed_roles = {"GET": ALL_STAFF, "POST": ALL_STAFF}
    list_operation_id = "surveys_list"
    filter_serializer_class = SurveyFilterSerializer
    output_serializer_class = SurveyOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[Survey]:
        return page.cut(selectors.survey_list(user=user, filters=filters))

    @api_operation(
        "surveys_create",
        request=SurveyInputSerializer,
        responses={201: SurveyCreatedOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        values = validated_body(SurveyInputSerializer, request)
        survey, raw = services.survey_send(actor=caller(request), **values)
        body = SurveyCreatedOutputSerializer(survey, context={"raw_token": raw}).data
        return Response(body, status=status.HTTP_201_CREATED)


class SurveyItemAnswerOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    text = serializers.CharField(help_text="The item's published wording.")
    loinc = serializers.CharField(allow_null=True)
    scored = serializers.BooleanField(help_text="Counts towards the total.")
    answer = serializers.IntegerField(allow_null=True, help_text="Null: not answered.")
    answer_text = serializers.CharField(allow_null=True, help_text="The answer's wording.")


class SurveyDetailOutputSerializer(serializers.Serializer):
    """A survey with its answers item by item. `source` is added in get_fields(): it is the name
    of the serializer's own attribute."""

    id = serializers.IntegerField()
    patient = serializers.IntegerField()
    instrument = serializers.CharField()
    status = serializers.ChoiceField(choices=SurveyStatus.choices)
    session = serializers.IntegerField(allow_null=True)
    due_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    total_score = serializers.IntegerField(allow_null=True)
    severity = serializers.CharField(allow_null=True)
    safety_item = serializers.IntegerField(
        allow_null=True, help_text="The item whose answer of 1 or more raises a critical alert."
    )
    safety_flag = serializers.BooleanField(
        allow_null=True, help_text="The safety item was answered 1 or more (null: unanswered)."
    )
    items = SurveyItemAnswerOutputSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), "source": serializers.ChoiceField(SurveySource.choices)}


class SurveyDetailApi(APIView):
    allowed_roles = {"GET": {Role.CLINICIAN}}

    @api_operation(
        "surveys_retrieve",
        description="One questionnaire with its answers item by item, total, severity and "
        "the item-9 safety flag (clinician).",
        responses={200: SurveyDetailOutputSerializer},
    )
    def get(self, request: Request, survey_id: int) -> Response:
        survey = selectors.survey_read(user=caller(request), survey_id=survey_id)
        return Response(SurveyDetailOutputSerializer(survey).data)


class PublicSurveyOutputSerializer(serializers.Serializer):
    clinic = serializers.CharField()
    instrument = InstrumentOutputSerializer()
    status = serializers.CharField()
    expires_at = serializers.DateTimeField()


class PublicAnswersInputSerializer(serializers.Serializer):
    answers = serializers.JSONField(help_text="Integers 0-3 in item order (PHQ-9: 9 or 10).")


class PublicSurveyResultSerializer(serializers.Serializer):
    total_score = serializers.IntegerField()
    severity = serializers.CharField()
    crisis_text = serializers.CharField(required=False)


class PublicSurveyApi(APIView):
    """The JSON twin of the patient's page: no login, the token is the key."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="public_surveys_retrieve",
        responses={200: PublicSurveyOutputSerializer, **ERROR_RESPONSES, 410: ERROR_RESPONSES[409]},
        auth=[],
    )
    def get(self, request: Request, token: str) -> Response:
        public_rate_check(client_ip_of(request))
        survey = selectors.survey_open_by_token(raw_token=token)
        body = {
            "clinic": survey.clinic.name,
            "instrument": instruments.get(survey.instrument),
            "status": survey.status,
            "expires_at": survey.expires_at,
        }
        return Response(PublicSurveyOutputSerializer(body).data)

    @extend_schema(
        operation_id="public_surveys_submit",
        request=PublicAnswersInputSerializer,
        responses={201: PublicSurveyResultSerializer, **ERROR_RESPONSES, 410: ERROR_RESPONSES[409]},
        auth=[],
    )
    def post(self, request: Request, token: str) -> Response:
        public_rate_check(client_ip_of(request))
        answers = validated_body(PublicAnswersInputSerializer, request)["answers"]
        submission = services.survey_submit(raw_token=token, answers=answers)
        body: dict[str, Any] = {
            "total_score": submission.response.total_score,
            "severity": submission.response.severity,
        }
        if submission.crisis_text:
            body["crisis_text"] = submission.crisis_text
        return Response(body, status=status.HTTP_201_CREATED)


class OutcomeScoreSerializer(serializers.Serializer):
    completed_at = serializers.DateTimeField()
    total_score = serializers.IntegerField()
    severity = serializers.CharField()


class InstrumentOutcomeSerializer(serializers.Serializer):
    baseline = serializers.IntegerField(allow_null=True)
    latest = serializers.IntegerField(allow_null=True)
    response = serializers.BooleanField(allow_null=True)
    remission = serializers.BooleanField(allow_null=True)
    scores = OutcomeScoreSerializer(many=True)


class OutcomesOutputSerializer(serializers.Serializer):
    phq9 = InstrumentOutcomeSerializer()
    gad7 = InstrumentOutcomeSerializer()


class PatientOutcomesApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @api_operation("patients_outcomes", responses={200: OutcomesOutputSerializer})
    def get(self, request: Request, patient_id: int) -> Response:
        user = caller(request)
        outcomes = selectors.patient_outcomes(user=user, patient_id=patient_id)
        return Response(OutcomesOutputSerializer(outcomes).data)


class PatientOutcomesChartApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @api_operation(
        "patients_outcomes_chart", responses={(200, "image/svg+xml"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request, patient_id: int) -> HttpResponse:
        user = caller(request)
        svg = charts.outcomes_chart_svg(
            **selectors.patient_outcomes_chart_data(user=user, patient_id=patient_id)
        )
        return HttpResponse(svg, content_type="image/svg+xml")
