from django.urls import path

from . import apis

urlpatterns = [
    path("audit/events", apis.AuditEventListApi.as_view(), name="api-audit-events"),
    path("audit/events/<int:seq>", apis.AuditEventDetailApi.as_view(), name="api-audit-event"),
    path("audit/integrity", apis.AuditIntegrityApi.as_view(), name="api-audit-integrity"),
    path("audit/reports", apis.AuditReportApi.as_view(), name="api-audit-reports"),
]
