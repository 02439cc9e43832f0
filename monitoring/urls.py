from django.urls import include, path

from monitoring import apis

session_urls = [
    path("vitals/", apis.SessionVitalsApi.as_view(), name="session-vitals"),
    path("start/", apis.SessionStartApi.as_view(), name="session-start"),
    path("stop/", apis.SessionStopApi.as_view(), name="session-stop"),
    path("discharge/", apis.SessionDischargeApi.as_view(), name="session-discharge"),
    path("confirm-escort/", apis.SessionConfirmEscortApi.as_view(), name="session-confirm-escort"),
    path("adverse-events/", apis.SessionAdverseEventsApi.as_view(), name="session-adverse-events"),
    path("summary/", apis.SessionSummaryApi.as_view(), name="session-summary"),
    path("chart.svg", apis.SessionChartApi.as_view(), name="session-chart"),
]

patient_urls = [
    path("outcomes/", apis.PatientOutcomesApi.as_view(), name="patient-outcomes"),
    path("outcomes.svg", apis.PatientOutcomesChartApi.as_view(), name="patient-outcomes-chart"),
]

urlpatterns = [
    path("sessions/<int:session_id>/", include(session_urls)),
    path("patients/<int:patient_id>/", include(patient_urls)),
    path("alerts/", apis.AlertListApi.as_view(), name="alert-list"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        apis.AlertAcknowledgeApi.as_view(),
        name="alert-acknowledge",
    ),
    path("instruments/", apis.InstrumentListApi.as_view(), name="instrument-list"),
    path("surveys/", apis.SurveyListApi.as_view(), name="survey-list"),
    path("surveys/<int:survey_id>/", apis.SurveyDetailApi.as_view(), name="survey-detail"),
    path("public/surveys/<str:token>/", apis.PublicSurveyApi.as_view(), name="public-survey"),
]
