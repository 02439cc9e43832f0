"""Setting a clinic up: clinics, chairs, staff and protocols."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors, services
from clinic.apis.common import ALL_STAFF, ListApi, ListPage, caller
from clinic.models import (
    Chair,
    Clinic,
    Protocol,
    Role,
    Route,
    User,
    phone_validator,
    validate_timezone,
)
from clinic.thresholds import effective_thresholds
from config.api.fields import ScopedPrimaryKeyRelatedField
from config.api.schema import api_operation
from config.api.validation import validated_body

# --- Clinics and chairs -----------------------------------------------------------------------


class ClinicInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    timezone = serializers.CharField(max_length=64, validators=[validate_timezone])
    opening_time = serializers.TimeField()
    closing_time = serializers.TimeField()
    open_weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), min_length=1, max_length=7
    )
    nurse_concurrent_patient_limit = serializers.IntegerField(
        min_value=1, max_value=20, required=False, default=2
    )


class ClinicOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Clinic
        fields = [
            "id",
            "name",
            "timezone",
            "opening_time",
            "closing_time",
            "open_weekdays",
            "nurse_concurrent_patient_limit",
            "created_at",
        ]


class ClinicListApi(ListApi):
    allowed_roles = {"GET": ALL_STAFF, "POST": {Role.ADMIN}}
    list_operation_id = "clinics_list"
    output_serializer_class = ClinicOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[Clinic]:
        return page.cut(selectors.clinic_list(user=user))

    @api_operation(
        "clinics_create", request=ClinicInputSerializer, responses={201: ClinicOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        values = validated_body(ClinicInputSerializer, request)
        clinic = services.clinic_create(
            actor=caller(request), timezone_name=values.pop("timezone"), **values
        )
        return Response(ClinicOutputSerializer(clinic).data, status=status.HTTP_201_CREATED)


class ClinicDetailApi(APIView):
    allowed_roles = {"GET": ALL_STAFF}

    @api_operation("clinics_retrieve", responses={200: ClinicOutputSerializer})
    def get(self, request: Request, clinic_id: int) -> Response:
        clinic = selectors.clinic_get(user=caller(request), clinic_id=clinic_id)
        return Response(ClinicOutputSerializer(clinic).data)


class ChairInputSerializer(serializers.Serializer):
    clinic = ScopedPrimaryKeyRelatedField(selector=selectors.clinic_list)
    name = serializers.CharField(max_length=100)


class ChairOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Chair
        fields = ["id", "clinic", "name", "is_active"]


class ChairFilterSerializer(serializers.Serializer):
    clinic = serializers.IntegerField(required=False, min_value=1)


class ChairListApi(ListApi):
    allowed_roles = {"GET": ALL_STAFF, "POST": {Role.ADMIN}}
    list_operation_id = "chairs_list"
    filter_serializer_class = ChairFilterSerializer
    output_serializer_class = ChairOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[Chair]:
        return page.cut(selectors.chair_list(user=user, filters=filters))

    @api_operation(
        "chairs_create", request=ChairInputSerializer, responses={201: ChairOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        values = validated_body(ChairInputSerializer, request)
        chair = services.chair_create(actor=caller(request), **values)
        return Response(ChairOutputSerializer(chair).data, status=status.HTTP_201_CREATED)


# --- Staff ------------------------------------------------------------------------------------


class StaffInputSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    role = serializers.ChoiceField(choices=sorted(ALL_STAFF))
    clinics = ScopedPrimaryKeyRelatedField(
        selector=selectors.clinic_list, many=True, allow_empty=False
    )
    first_name = serializers.CharField(max_length=150, required=False, default="")
    last_name = serializers.CharField(max_length=150, required=False, default="")
    email = serializers.EmailField(max_length=254, required=False, default="")
    phone = serializers.CharField(
        max_length=16, required=False, default="", validators=[phone_validator]
    )


class StaffOutputSerializer(serializers.ModelSerializer):
    role = serializers.CharField(source="effective_role")
    reachable = serializers.BooleanField(
        read_only=True,
        help_text="Whether a critical page can reach them: a phone or an e-mail is on file.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "role",
            "clinics",
            "first_name",
            "last_name",
            "email",
            "phone",
            "is_active",
            "reachable",
        ]


class StaffListApi(ListApi):
    allowed_roles = {"GET": {Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN}, "POST": {Role.ADMIN}}
    list_operation_id = "staff_list"
    output_serializer_class = StaffOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[User]:
        return page.cut(selectors.staff_list(user=user))

    @api_operation(
        "staff_create", request=StaffInputSerializer, responses={201: StaffOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        values = validated_body(StaffInputSerializer, request)
        user = services.staff_create(actor=caller(request), **values)
        return Response(StaffOutputSerializer(user).data, status=status.HTTP_201_CREATED)


# --- Protocols --------------------------------------------------------------------------------


class ProtocolInputSerializer(serializers.Serializer):
    clinic = ScopedPrimaryKeyRelatedField(
        selector=selectors.clinic_list, required=False, allow_null=True, default=None
    )
    name = serializers.CharField(max_length=200)
    route = serializers.ChoiceField(choices=Route.choices, default=Route.IV)
    dose_mg_per_kg = serializers.DecimalField(
        max_digits=5, decimal_places=3, min_value=Decimal("0.001"), max_value=Decimal("10")
    )
    infusion_minutes = serializers.IntegerField(min_value=1, max_value=240)
    prep_minutes = serializers.IntegerField(min_value=0, max_value=120, default=15)
    recovery_minutes = serializers.IntegerField(min_value=0, max_value=360, default=30)
    vitals_interval_minutes = serializers.IntegerField(min_value=5, max_value=30, default=15)
    thresholds = serializers.DictField(required=False, default=dict)


class ProtocolOutputSerializer(serializers.ModelSerializer):
    threshold_overrides = serializers.JSONField(source="thresholds")
    thresholds = serializers.SerializerMethodField()

    class Meta:
        model = Protocol
        fields = [
            "id",
            "clinic",
            "name",
            "route",
            "dose_mg_per_kg",
            "infusion_minutes",
            "prep_minutes",
            "recovery_minutes",
            "vitals_interval_minutes",
            "thresholds",
            "threshold_overrides",
            "is_active",
            "created_at",
        ]

    def get_thresholds(self, protocol: Protocol) -> dict[str, Any]:
        """The effective thresholds: CLINICAL.md defaults with this protocol's overrides."""
        return effective_thresholds(protocol.thresholds)


class ProtocolListApi(ListApi):
    allowed_roles = {"GET": ALL_STAFF, "POST": {Role.ADMIN, Role.CLINICIAN}}
    list_operation_id = "protocols_list"
    output_serializer_class = ProtocolOutputSerializer

    def rows(self, *, user: User, filters: dict[str, Any], page: ListPage) -> list[Protocol]:
        return page.cut(selectors.protocol_list(user=user))

    @api_operation(
        "protocols_create",
        request=ProtocolInputSerializer,
        responses={201: ProtocolOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        values = validated_body(ProtocolInputSerializer, request)
        protocol = services.protocol_create(actor=caller(request), **values)
        return Response(ProtocolOutputSerializer(protocol).data, status=status.HTTP_201_CREATED)


class ProtocolDetailApi(APIView):
    allowed_roles = {"GET": ALL_STAFF}

    @api_operation("protocols_retrieve", responses={200: ProtocolOutputSerializer})
    def get(self, request: Request, protocol_id: int) -> Response:
        protocol = selectors.protocol_get(user=caller(request), protocol_id=protocol_id)
        return Response(ProtocolOutputSerializer(protocol).data)
