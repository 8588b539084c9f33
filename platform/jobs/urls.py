from django.urls import path

from . import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("new/", views.job_new, name="new"),
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/status.json", views.job_status, name="status"),
    path("<int:pk>/result/", views.job_result, name="result"),
    path("<int:pk>/video.mp4", views.job_video, name="video"),
    path("<int:pk>/download/", views.job_download, name="download"),
]
