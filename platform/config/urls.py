from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

handler404 = "core.errors.json_not_found"
handler500 = "core.errors.json_server_error"

urlpatterns = [
    path("", include("core.urls")),
    path("", include("accounts.site_urls")),
    path("accounts/", include("accounts.urls")),
    path("consent/", include("consent.urls")),
    path("consent/", include("jobs.owner_urls")),
    path("jobs/", include("jobs.urls")),
    path("live/", include("live.urls")),
    path("detect/", include("detection.urls")),
    path("audit/", include("audit.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI and Redoc from drf-spectacular-sidecar's local copies, start-up script in its own
    # file (the split view): the CSP allows scripts and styles from this origin only.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="api_docs/swagger_ui.html"
        ),
        name="swagger-ui",
    ),
    # Redoc's bundle (styled-components) writes <style> elements as it renders and runs its
    # search in a worker made from a blob: URL, so this one page also allows inline styles and
    # blob: workers; scripts stay same-origin only, and the page shows no user data.
    path(
        "api/redoc/",
        csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})(
            SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html")
        ),
        name="redoc",
    ),
    path("api/v1/", include("config.api_urls")),
]
