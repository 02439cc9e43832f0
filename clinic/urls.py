from django.urls import path

from clinic import apis

urlpatterns = [
    path("auth/login/", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("clinics/", apis.ClinicListApi.as_view(), name="clinic-list"),
    path("clinics/<int:clinic_id>/", apis.ClinicDetailApi.as_view(), name="clinic-detail"),
    path(
        "clinics/<int:clinic_id>/closures/",
        apis.ClinicClosureListApi.as_view(),
        name="clinic-closure-list",
    ),
    path("chairs/", apis.ChairListApi.as_view(), name="chair-list"),
    path("staff/", apis.StaffListApi.as_view(), name="staff-list"),
    path("patients/", apis.PatientListApi.as_view(), name="patient-list"),
    path("patients/<int:patient_id>/", apis.PatientDetailApi.as_view(), name="patient-detail"),
    path(
        "patients/<int:patient_id>/contraindications-review/",
        apis.PatientContraindicationsReviewApi.as_view(),
        name="patient-contraindications-review",
    ),
    path("protocols/", apis.ProtocolListApi.as_view(), name="protocol-list"),
    path("protocols/<int:protocol_id>/", apis.ProtocolDetailApi.as_view(), name="protocol-detail"),
    path("audit-events/", apis.AuditEventListApi.as_view(), name="audit-event-list"),
    path("notifications/", apis.NotificationListApi.as_view(), name="notification-list"),
]
