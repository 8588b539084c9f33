"""The admin's view of API tokens: who holds one and until when, never a usable token.

Knox's own admin lets a staff member mint a token for anyone and shows it in a message; ours
only lists tokens and revokes them (through the audited service).
"""

from __future__ import annotations

from django.contrib import admin
from knox.models import AuthToken

from .api_tokens import api_token_revoke

if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created", "expiry")
    list_filter = ("expiry",)
    search_fields = ("user__username",)
    fields = ("user", "created", "expiry")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        api_token_revoke(token=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for token in queryset:
            api_token_revoke(token=token, actor=request.user)
