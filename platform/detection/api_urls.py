from django.urls import path

from . import apis

urlpatterns = [
    path("detections", apis.DetectionCreateApi.as_view(), name="api-detection-create"),
    path("detections/<uuid:pk>", apis.DetectionDetailApi.as_view(), name="api-detection-detail"),
    path("matches/byBinding", apis.MatchesByBindingApi.as_view(), name="api-matches-by-binding"),
    path("matches/byContent", apis.MatchesByContentApi.as_view(), name="api-matches-by-content"),
    path("manifests/<str:manifest_id>", apis.ManifestApi.as_view(), name="api-manifest"),
]
