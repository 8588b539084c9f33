"""Owner pages about their likeness's uses, mounted under /consent/ beside consent's own."""

from django.urls import path

from . import owner_views

app_name = "likeness"

urlpatterns = [
    path("identities/<int:pk>/generations/", owner_views.likeness_uses, name="uses"),
    path("identities/<int:pk>/generations.csv", owner_views.likeness_uses_csv, name="uses_csv"),
]
