from django.urls import path

from core.api_routing import api_operations

from . import apis

urlpatterns = [
    path(
        "identities",
        api_operations(apis.IdentityListApi, apis.IdentityCreateApi),
        name="api-identities",
    ),
    path("identities/<int:pk>", apis.IdentityDetailApi.as_view(), name="api-identity"),
    path("identities/<int:pk>/portraits", apis.PortraitEnrolApi.as_view(), name="api-portraits"),
    path(
        "identities/<int:pk>/verifications",
        apis.VerificationStartApi.as_view(),
        name="api-verification-start",
    ),
    path(
        "identities/<int:pk>/consents",
        api_operations(apis.GrantListApi, apis.GrantCreateApi),
        name="api-consents",
    ),
    path(
        "identities/<int:pk>/biometrics",
        apis.BiometricsDeleteApi.as_view(),
        name="api-biometrics",
    ),
    path(
        "verifications/pending",
        apis.VerificationPendingApi.as_view(),
        name="api-verifications-pending",
    ),
    path(
        "verifications/<int:pk>/clip",
        apis.VerificationClipApi.as_view(),
        name="api-verification-clip",
    ),
    path(
        "verifications/<int:pk>/recording",
        apis.VerificationRecordingStartApi.as_view(),
        name="api-verification-recording",
    ),
    path(
        "verifications/<int:pk>/review",
        apis.VerificationReviewApi.as_view(),
        name="api-verification-review",
    ),
    path("consents/<int:pk>", apis.GrantDetailApi.as_view(), name="api-consent"),
    path("consents/<int:pk>/change", apis.GrantChangeApi.as_view(), name="api-consent-change"),
    path("consents/<int:pk>/revoke", apis.GrantRevokeApi.as_view(), name="api-consent-revoke"),
    path("consents/<int:pk>/receipt", apis.GrantReceiptApi.as_view(), name="api-consent-receipt"),
]
