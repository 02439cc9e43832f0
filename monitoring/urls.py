from django.urls import path

from monitoring import apis

urlpatterns = [
    path(
        "sessions/<int:session_id>/vitals/", apis.SessionVitalsApi.as_view(), name="session-vitals"
    ),
    path("sessions/<int:session_id>/start/", apis.SessionStartApi.as_view(), name="session-start"),
    path("sessions/<int:session_id>/stop/", apis.SessionStopApi.as_view(), name="session-stop"),
    path(
        "sessions/<int:session_id>/discharge/",
        apis.SessionDischargeApi.as_view(),
        name="session-discharge",
    ),
    path(
        "sessions/<int:session_id>/adverse-events/",
        apis.SessionAdverseEventsApi.as_view(),
        name="session-adverse-events",
    ),
    path(
        "sessions/<int:session_id>/summary/",
        apis.SessionSummaryApi.as_view(),
        name="session-summary",
    ),
    path(
        "sessions/<int:session_id>/chart.svg", apis.SessionChartApi.as_view(), name="session-chart"
    ),
    path("alerts/", apis.AlertListApi.as_view(), name="alert-list"),
    path("instruments/", apis.InstrumentListApi.as_view(), name="instrument-list"),
    path("surveys/", apis.SurveyListApi.as_view(), name="survey-list"),
    path("public/surveys/<str:token>/", apis.PublicSurveyApi.as_view(), name="public-survey"),
    path(
        "patients/<int:patient_id>/outcomes/",
        apis.PatientOutcomesApi.as_view(),
        name="patient-outcomes",
    ),
    path(
        "patients/<int:patient_id>/outcomes.svg",
        apis.PatientOutcomesChartApi.as_view(),
        name="patient-outcomes-chart",
    ),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        apis.AlertAcknowledgeApi.as_view(),
        name="alert-acknowledge",
    ),
]
