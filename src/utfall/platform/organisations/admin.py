"""Admin for organisations and memberships; changes go through the services (audited).

The members of an organisation that evaluates a contract sign settlement statements;
the admin shows them but cannot add any (``membership_add`` refuses it too): the
organisation adds its own members (decision 0600). Nor can the admin remove or replace
anyone's second factor: deleting an evaluator's TOTP and setting a new password would
let the administrator enrol their own and sign.
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin

from utfall.platform.organisations import services
from utfall.platform.organisations.models import Membership, Organisation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    fields = ("user",)

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return obj is None or not services.organisation_evaluates(obj)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "organisation_number", "created_at")
    search_fields = ("name", "organisation_number")
    inlines = (MembershipInline,)

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        instances = formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.membership_remove(
                user=membership.user, organisation=membership.organisation, actor=request.user
            )
        for membership in instances:
            services.membership_add(
                user=membership.user, organisation=form.instance, actor=request.user
            )


class _ReadOnlyAuthenticatorAdmin(AuthenticatorAdmin):
    """allauth's authenticators, shown only: a lost device is handled with the person's
    recovery codes, or by the operator on the server."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


if admin.site.is_registered(Authenticator):
    admin.site.unregister(Authenticator)
admin.site.register(Authenticator, _ReadOnlyAuthenticatorAdmin)
