from django.urls import path

from . import apis

urlpatterns = [
    path("jobs", apis.JobListApi.as_view(), name="api-job-list"),
    path("jobs/create", apis.JobCreateApi.as_view(), name="api-job-create"),
    path("jobs/<int:pk>", apis.JobStatusApi.as_view(), name="api-job-status"),
    path("jobs/<int:pk>/download", apis.JobDownloadApi.as_view(), name="api-job-download"),
    path(
        "identities/<int:pk>/generations",
        apis.LikenessUsesApi.as_view(),
        name="api-likeness-uses",
    ),
]
