from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.sign_up, name="sign_up"),
    path("apply/", views.apply, name="apply"),
    path("organisation/", views.organisation, name="organisation"),
    path("applications/", views.application_queue, name="application_queue"),
    path("applications/<int:pk>/", views.application_review, name="application_review"),
]
