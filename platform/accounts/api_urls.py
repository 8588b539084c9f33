from django.urls import path

from . import apis

urlpatterns = [
    path("accounts", apis.SignUpApi.as_view(), name="api-sign-up"),
    path("auth/token", apis.TokenCreateApi.as_view(), name="api-token"),
    path("auth/token/logout", apis.TokenRevokeApi.as_view(), name="api-token-logout"),
    path("auth/token/logout-all", apis.TokenRevokeAllApi.as_view(), name="api-token-logout-all"),
    path("me", apis.MeApi.as_view(), name="api-me"),
]
