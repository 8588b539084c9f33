from django.urls import path

from . import views

app_name = "consent"

urlpatterns = [
    path("", views.identity_list, name="identity_list"),
    path("identities/<int:pk>/", views.identity_detail, name="identity_detail"),
    path("identities/<int:pk>/portraits/", views.portrait_enrol, name="portrait_enrol"),
    path("identities/<int:pk>/verify/", views.verification_page, name="verification_page"),
    path("identities/<int:pk>/grants/new/", views.grant_create, name="grant_create"),
    path(
        "identities/<int:pk>/biometrics/delete/", views.biometrics_delete, name="biometrics_delete"
    ),
    path(
        "identities/<int:pk>/likeness-protection/",
        views.likeness_protection,
        name="likeness_protection",
    ),
    path("portraits/<int:pk>/image", views.portrait_image, name="portrait_image"),
    path("verifications/", views.verification_queue, name="verification_queue"),
    path("verifications/<int:pk>/clip/", views.verification_clip, name="verification_clip"),
    path(
        "verifications/<int:pk>/clip.webm",
        views.verification_clip_media,
        name="verification_clip_media",
    ),
    path("verifications/<int:pk>/review/", views.verification_review, name="verification_review"),
    path("grants/<int:pk>/", views.grant_detail, name="grant_detail"),
    path("grants/<int:pk>/change/", views.grant_change, name="grant_change"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("receipts/<uuid:receipt_id>.json", views.receipt_download, name="receipt_download"),
]
