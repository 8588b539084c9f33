"""The site's home page and the two-factor pages, at the root of the site (not under
/accounts/): the staff 2FA middleware exempts "/account/2fa/"."""

from django.urls import path

from . import two_factor_views, views

app_name = "site"

urlpatterns = [
    path("", views.home, name="home"),
    path("account/2fa/setup/", two_factor_views.otp_setup, name="otp_setup"),
    path("account/2fa/verify/", two_factor_views.otp_verify, name="otp_verify"),
]
