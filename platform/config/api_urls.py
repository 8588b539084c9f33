"""Every versioned API route, gathered from the apps (`/api/v1/...`)."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
]
