from django.urls import include, path

from scheduling import apis

session_urls = [
    path("", apis.SessionDetailApi.as_view(), name="session-detail"),
    path("check-in/", apis.SessionCheckInApi.as_view(), name="session-check-in"),
    path("complete/", apis.SessionCompleteApi.as_view(), name="session-complete"),
    path("cancel/", apis.SessionCancelApi.as_view(), name="session-cancel"),
    path("no-show/", apis.SessionNoShowApi.as_view(), name="session-no-show"),
    path("reschedule/", apis.SessionRescheduleApi.as_view(), name="session-reschedule"),
]

urlpatterns = [
    path("sessions/", apis.SessionListApi.as_view(), name="session-list"),
    path("sessions/<int:session_id>/", include(session_urls)),
    path("availability/", apis.AvailabilityApi.as_view(), name="availability"),
    path("series/", apis.SeriesApi.as_view(), name="series-create"),
    path("series/suggest/", apis.SeriesSuggestApi.as_view(), name="series-suggest"),
    path("series/<int:series_id>/", apis.SeriesDetailApi.as_view(), name="series-detail"),
    path("series/<int:series_id>/cancel/", apis.SeriesCancelApi.as_view(), name="series-cancel"),
    # Under the clinic's URL, served here: the clinic app knows no sessions.
    path(
        "clinics/<int:clinic_id>/closures/<int:closure_id>/affected-sessions/",
        apis.ClosureAffectedSessionsApi.as_view(),
        name="clinic-closure-affected-sessions",
    ),
    path(
        "patients/<int:patient_id>/sessions.ics",
        apis.PatientCalendarApi.as_view(),
        name="patient-sessions-ics",
    ),
]
