from django.urls import path

from . import apis

urlpatterns = [
    path("accounts", apis.SignUpApi.as_view(), name="api-sign-up"),
    path("auth/token", apis.TokenCreateApi.as_view(), name="api-token"),
    path("me", apis.MeApi.as_view(), name="api-me"),
]
