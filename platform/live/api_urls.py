from django.urls import path

from . import apis

urlpatterns = [
    path("live/sessions", apis.LiveSessionCreateApi.as_view(), name="api-live-sessions"),
    path(
        "live/sessions/<str:public_id>",
        apis.LiveSessionDetailApi.as_view(),
        name="api-live-session",
    ),
    path(
        "live/sessions/<str:public_id>/stop",
        apis.LiveSessionStopApi.as_view(),
        name="api-live-session-stop",
    ),
]
