from django.urls import path

from scheduling import apis

urlpatterns = [
    path("sessions/", apis.SessionListApi.as_view(), name="session-list"),
    path("sessions/<int:session_id>/", apis.SessionDetailApi.as_view(), name="session-detail"),
    path(
        "sessions/<int:session_id>/check-in/",
        apis.SessionCheckInApi.as_view(),
        name="session-check-in",
    ),
    path(
        "sessions/<int:session_id>/complete/",
        apis.SessionCompleteApi.as_view(),
        name="session-complete",
    ),
    path(
        "sessions/<int:session_id>/cancel/", apis.SessionCancelApi.as_view(), name="session-cancel"
    ),
    path(
        "sessions/<int:session_id>/no-show/",
        apis.SessionNoShowApi.as_view(),
        name="session-no-show",
    ),
    path(
        "sessions/<int:session_id>/reschedule/",
        apis.SessionRescheduleApi.as_view(),
        name="session-reschedule",
    ),
    path("availability/", apis.AvailabilityApi.as_view(), name="availability"),
    path("series/", apis.SeriesApi.as_view(), name="series-create"),
    path("series/suggest/", apis.SeriesSuggestApi.as_view(), name="series-suggest"),
    path(
        "patients/<int:patient_id>/sessions.ics",
        apis.PatientCalendarApi.as_view(),
        name="patient-sessions-ics",
    ),
]
