from django.urls import path

from . import views

app_name = "detection"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("alerts/", views.alerts, name="alerts"),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/<uuid:pk>/", views.audit_detail, name="audit_detail"),
    path("<uuid:pk>/", views.verdict, name="verdict"),
]
