"""HTTP API of the clinic app: parse input, call a service or selector, serialize output."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic import selectors, services
from clinic.models import (
    AuditEvent,
    AuthToken,
    Chair,
    Channel,
    Clinic,
    Contraindication,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
    Protocol,
    Role,
    Route,
    User,
    phone_validator,
    validate_timezone,
)
from clinic.thresholds import effective_thresholds
from config.api.fields import ScopedPrimaryKeyRelatedField
from config.api.pagination import CursorPagination, paginated_response
from config.api.schema import ERROR_RESPONSES


def caller(request: Request) -> User:
    """The authenticated user (HasRole has already refused anonymous callers)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


M = TypeVar("M", bound=Model)


class ListPage:
    """One page of a list view, as its paginator cuts it. A selector that audits a list's read
    is handed `cut`, so that it records exactly the rows the caller is shown; `response` gives
    the page in the list envelope (config/api/pagination.py)."""

    def __init__(self, *, request: Request, view: APIView) -> None:
        self.request = request
        self.view = view
        self.paginator = view.pagination_class()  # type: ignore[attr-defined]

    def cut(self, queryset: QuerySet[M]) -> list[M]:
        page = self.paginator.paginate_queryset(queryset, self.request, view=self.view)
        return list(page or [])

    def response(
        self, rows: list[Any], serializer_class: type[serializers.BaseSerializer]
    ) -> Response:
        serializer = serializer_class(rows, many=True, context={"request": self.request})
        return self.paginator.get_paginated_response(serializer.data)


ALL_STAFF = {Role.ADMIN, Role.SCHEDULER, Role.NURSE, Role.CLINICIAN}
EVERYONE = ALL_STAFF | {Role.PATIENT}


# --- Auth -------------------------------------------------------------------------------------


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class LoginUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class LoginOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    idle_timeout_seconds = serializers.IntegerField()
    user = LoginUserSerializer()


class LoginApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_login",
        request=LoginInputSerializer,
        responses={200: LoginOutputSerializer, **ERROR_RESPONSES},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.auth_login(**data.validated_data)
        user = result.user
        body = {
            "token": result.token,
            "expires_at": result.expires_at,
            "idle_timeout_seconds": int(settings.AUTH_TOKEN_IDLE_TIMEOUT.total_seconds()),
            "user": {"id": user.pk, "username": user.username, "role": user.effective_role},
        }
        return Response(LoginOutputSerializer(body).data)


class LogoutApi(APIView):
    allowed_roles = {"POST": EVERYONE}

    @extend_schema(
        operation_id="auth_logout", request=None, responses={204: None, **ERROR_RESPONSES}
    )
    def post(self, request: Request) -> Response:
        token = request.auth
        if not isinstance(token, AuthToken):
            raise NotAuthenticated()
        services.auth_logout(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


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


class ClinicListApi(APIView):
    allowed_roles = {"GET": ALL_STAFF, "POST": {Role.ADMIN}}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="clinics_list",
        responses={200: ClinicOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        response, _ = paginated_response(
            request=request,
            view=self,
            queryset=selectors.clinic_list(user=caller(request)),
            serializer_class=ClinicOutputSerializer,
        )
        return response

    @extend_schema(
        operation_id="clinics_create",
        request=ClinicInputSerializer,
        responses={201: ClinicOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = ClinicInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        clinic = services.clinic_create(
            actor=caller(request), timezone_name=values.pop("timezone"), **values
        )
        return Response(ClinicOutputSerializer(clinic).data, status=status.HTTP_201_CREATED)


class ClinicDetailApi(APIView):
    allowed_roles = {"GET": ALL_STAFF}

    @extend_schema(
        operation_id="clinics_retrieve", responses={200: ClinicOutputSerializer, **ERROR_RESPONSES}
    )
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


class ChairListApi(APIView):
    allowed_roles = {"GET": ALL_STAFF, "POST": {Role.ADMIN}}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="chairs_list",
        parameters=[ChairFilterSerializer],
        responses={200: ChairOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = ChairFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        chairs = selectors.chair_list(user=caller(request), filters=filters.validated_data)
        response, _ = paginated_response(
            request=request, view=self, queryset=chairs, serializer_class=ChairOutputSerializer
        )
        return response

    @extend_schema(
        operation_id="chairs_create",
        request=ChairInputSerializer,
        responses={201: ChairOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = ChairInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        chair = services.chair_create(actor=caller(request), **data.validated_data)
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
        ]


class StaffListApi(APIView):
    allowed_roles = {"GET": {Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN}, "POST": {Role.ADMIN}}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="staff_list",
        responses={200: StaffOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        response, _ = paginated_response(
            request=request,
            view=self,
            queryset=selectors.staff_list(user=caller(request)),
            serializer_class=StaffOutputSerializer,
        )
        return response

    @extend_schema(
        operation_id="staff_create",
        request=StaffInputSerializer,
        responses={201: StaffOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = StaffInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        user = services.staff_create(actor=caller(request), **data.validated_data)
        return Response(StaffOutputSerializer(user).data, status=status.HTTP_201_CREATED)


# --- Patients ---------------------------------------------------------------------------------


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


class PatientListApi(APIView):
    allowed_roles = {"GET": EVERYONE, "POST": {Role.ADMIN, Role.SCHEDULER, Role.CLINICIAN}}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="patients_list",
        parameters=[PatientFilterSerializer],
        responses={200: PatientOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = PatientFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = ListPage(request=request, view=self)
        patients = selectors.patient_page_read(
            user=caller(request), filters=filters.validated_data, cut=page.cut
        )
        return page.response(patients, PatientOutputSerializer)

    @extend_schema(
        operation_id="patients_create",
        request=PatientInputSerializer,
        responses={201: PatientOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = PatientInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        patient = services.patient_create(actor=caller(request), **data.validated_data)
        return Response(PatientOutputSerializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailApi(APIView):
    allowed_roles = {"GET": EVERYONE}

    @extend_schema(
        operation_id="patients_retrieve",
        responses={200: PatientOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, patient_id: int) -> Response:
        patient = selectors.patient_read(user=caller(request), patient_id=patient_id)
        return Response(PatientOutputSerializer(patient).data)


class PatientContraindicationsReviewApi(APIView):
    allowed_roles = {"POST": {Role.CLINICIAN}}

    @extend_schema(
        operation_id="patients_contraindications_review",
        request=None,
        responses={200: PatientOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, patient_id: int) -> Response:
        user = caller(request)
        patient = selectors.patient_get(user=user, patient_id=patient_id)
        patient = services.patient_contraindications_review(actor=user, patient=patient)
        return Response(PatientOutputSerializer(patient).data)


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


class ProtocolListApi(APIView):
    allowed_roles = {"GET": ALL_STAFF, "POST": {Role.ADMIN, Role.CLINICIAN}}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="protocols_list",
        responses={200: ProtocolOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        response, _ = paginated_response(
            request=request,
            view=self,
            queryset=selectors.protocol_list(user=caller(request)),
            serializer_class=ProtocolOutputSerializer,
        )
        return response

    @extend_schema(
        operation_id="protocols_create",
        request=ProtocolInputSerializer,
        responses={201: ProtocolOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        data = ProtocolInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        protocol = services.protocol_create(actor=caller(request), **data.validated_data)
        return Response(ProtocolOutputSerializer(protocol).data, status=status.HTTP_201_CREATED)


class ProtocolDetailApi(APIView):
    allowed_roles = {"GET": ALL_STAFF}

    @extend_schema(
        operation_id="protocols_retrieve",
        responses={200: ProtocolOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, protocol_id: int) -> Response:
        protocol = selectors.protocol_get(user=caller(request), protocol_id=protocol_id)
        return Response(ProtocolOutputSerializer(protocol).data)


# --- Audit ------------------------------------------------------------------------------------


class AuditEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "actor",
            "role",
            "action",
            "object_type",
            "object_id",
            "patient",
            "at",
            "ip",
        ]


class AuditEventFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False, min_value=1)


class AuditEventListApi(APIView):
    allowed_roles = {"GET": {Role.ADMIN}}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="audit_events_list",
        parameters=[AuditEventFilterSerializer],
        responses={200: AuditEventOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = AuditEventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = selectors.audit_event_list(user=caller(request), filters=filters.validated_data)
        response, _ = paginated_response(
            request=request, view=self, queryset=events, serializer_class=AuditEventOutputSerializer
        )
        return response


# --- Notifications ----------------------------------------------------------------------------


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = [
            "id",
            "channel",
            "recipient",
            "kind",
            "status",
            "scheduled_for",
            "sent_at",
            "session",
            "survey",
            "patient",
            "attempts",
            "last_error",
            "created_at",
        ]


class NotificationFilterSerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False, min_value=1)
    kind = serializers.ChoiceField(choices=NotificationKind.choices, required=False)
    status = serializers.ChoiceField(choices=NotificationStatus.choices, required=False)
    session = serializers.IntegerField(required=False, min_value=1)


class NotificationListApi(APIView):
    allowed_roles = {"GET": {Role.ADMIN}}
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="notifications_list",
        parameters=[NotificationFilterSerializer],
        responses={200: NotificationOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        filters = NotificationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = ListPage(request=request, view=self)
        notifications = selectors.notification_page_read(
            user=caller(request), filters=filters.validated_data, cut=page.cut
        )
        return page.response(notifications, NotificationOutputSerializer)
