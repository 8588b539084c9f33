"""Every versioned API route, gathered from the apps (`/api/v1/...`)."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("consent.api_urls")),
    path("", include("jobs.api_urls")),
    path("", include("detection.api_urls")),
    path("", include("audit.api_urls")),
    path("", include("live.api_urls")),
]
