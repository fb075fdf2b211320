"""Administrators link accounts to the provider, set sign-in rules, reset a second factor, and read
emergency accesses. Imported at the end of cases/admin.py, whose base classes audit every change."""

from django.contrib import admin, messages

from ..admin import AuditedAdmin, ReadOnlyAdmin
from ..models import AccountSecurity, BoardIdentityPolicy, BreakGlassAccess, IdentityLink
from . import services


@admin.register(IdentityLink)
class IdentityLinkAdmin(AuditedAdmin):
    list_display = ["user", "subject", "issuer", "last_login_at"]
    search_fields = ["user__username", "subject"]
    readonly_fields = ["last_login_at"]
    autocomplete_fields = ["user"]


@admin.register(AccountSecurity)
class AccountSecurityAdmin(AuditedAdmin):
    list_display = ["user", "password_login_disabled", "mfa_required", "totp_confirmed_at"]
    list_filter = ["password_login_disabled", "mfa_required"]
    search_fields = ["user__username"]
    fields = ["user", "password_login_disabled", "mfa_required", "totp_confirmed_at"]
    readonly_fields = ["totp_confirmed_at"]
    autocomplete_fields = ["user"]
    actions = ["reset_second_factor"]

    @admin.action(description="Reset the second factor (the person enrols again at next sign-in)")
    def reset_second_factor(self, request, queryset):
        for security in queryset.select_related("user"):
            services.mfa_reset(user=security.user, by=request.user)
        self.message_user(request, f"Second factor reset for {queryset.count()} account(s).", messages.SUCCESS)


@admin.register(BoardIdentityPolicy)
class BoardIdentityPolicyAdmin(AuditedAdmin):
    list_display = ["board", "mfa_required"]


@admin.register(BreakGlassAccess)
class BreakGlassAccessAdmin(ReadOnlyAdmin):
    list_display = ["granted_at", "user", "patient", "expires_at", "reviewed_by", "reviewed_at"]
    search_fields = ["user__username", "patient__mrn"]
