"""Admin for organisations and memberships; changes go through the services (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from utfall.platform.organisations import services
from utfall.platform.organisations.models import Membership, Organisation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    fields = ("user",)


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
