"""Top-level routes: the versioned API, the OpenAPI schema, health checks and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health
from monitoring.views import survey_page

handler400 = "config.api.exceptions.json_bad_request"
handler404 = "config.api.exceptions.json_not_found"
handler500 = "config.api.exceptions.json_server_error"

api_v1 = [
    path("", include("clinic.urls")),
    path("", include("scheduling.urls")),
    path("", include("monitoring.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]),
        name="schema",
    ),
    path(
        "api/docs/",
        # The split view serves Swagger UI's set-up script as a file: no inline script, so the
        # page runs under a Content-Security-Policy without 'unsafe-inline' for scripts.
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", permission_classes=[], authentication_classes=[]
        ),
        name="swagger-ui",
    ),
    path("s/<str:token>/", survey_page, name="survey-page"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
