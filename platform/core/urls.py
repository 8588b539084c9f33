from django.urls import path

from . import two_factor_views, views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("account/2fa/setup/", two_factor_views.otp_setup, name="otp_setup"),
    path("account/2fa/verify/", two_factor_views.otp_verify, name="otp_verify"),
]
