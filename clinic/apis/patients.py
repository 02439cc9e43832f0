"""Patients: registration, their records, the clinician's contraindication review."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors, services
from clinic.apis.common import EVERYONE, ListApi, ListPage, caller
from clinic.models import Channel, Contraindication, Patient, Role, User, phone_validator
from config.api.fields import ScopedPrimaryKeyRelatedField
from config.api.schema import api_operation
from config.api.validation import validated_body


class PatientInputSerializer(serializers.Serializer):
    clinic = ScopedPrimaryKeyRelatedField(selector=selectors.clinic_list)
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    date_of_birth = serializers.DateField()
    email = serializers.EmailField(max_length=254, required=False, default="")
    phone = serializers.CharField(
        max_length=16, required=False, default="", validators=[phone_validator]
    )
    weight_kg = serializers.DecimalField(
        max_digits=5, decimal_places=1, min_value=Decimal("20"), max_value=Decimal("400")
    )
    preferred_channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.SMS)
    sms_opt_in = serializers.BooleanField(default=True)
    email_opt_in = serializers.BooleanField(default=True)
    contraindications = serializers.ListField(
        child=serializers.ChoiceField(choices=Contraindication.choices),
        required=False,
        default=list,
        max_length=len(Contraindication.choices),
    )


class PatientOutputSerializer(serializers.ModelSerializer):
    contraindications_unreviewed = serializers.BooleanField(read_only=True)

    class Meta:
        model = Patient
        fields = [
            "id",
            "clinic",
            "first_name",
            "last_name",
            "date_of_birth",
            "email",
            "phone",
            "weight_kg",
            "preferred_channel",
            "sms_opt_in",
            "email_opt_in",
            "contraindications",
            "contraindications_reviewed_at",
            "contraindications_reviewed_by",
            "contraindications_unreviewed",
            "created_at",
        ]


class PatientFilterSerializer(serializers.Serializer):
    clinic = serializers.IntegerField(required=False, min_value=1)
    search = serializers.CharField(required=False, max_length=100)


class PatientListApi(ListApi):
    allowed_roles = {"GET": EVERYONE, "POST": {Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN}}
    list_operation_id = "patients_list"
    filter_serializer_class = PatientFilterSerializer
    output_serializer_class = PatientOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[Patient]:
        return selectors.patient_page_read(user=user, filters=filters, cut=page.cut)

    @api_operation(
        "patients_create", request=PatientInputSerializer, responses={201: PatientOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        values = validated_body(PatientInputSerializer, request)
        patient = services.patient_create(actor=caller(request), **values)
        return Response(PatientOutputSerializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @api_operation("patients_retrieve", responses={200: PatientOutputSerializer})
    def get(self, request: Request, patient_id: int) -> Response:
        patient = selectors.patient_read(user=caller(request), patient_id=patient_id)
        return Response(PatientOutputSerializer(patient).data)


class PatientContraindicationsReviewApi(APIView):
    allowed_roles = {"POST": {Role.CLINICIAN}}

    @api_operation(
        "patients_contraindications_review", request=None, responses={200: PatientOutputSerializer}
    )
    def post(self, request: Request, patient_id: int) -> Response:
        user = caller(request)
        patient = selectors.patient_get(user=user, patient_id=patient_id)
        patient = services.patient_contraindications_review(actor=user, patient=patient)
        return Response(PatientOutputSerializer(patient).data)
