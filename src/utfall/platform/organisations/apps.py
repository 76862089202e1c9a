from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OrganisationsConfig(AppConfig):
    """Organisations and memberships; registers the pseudonym-key start-up check."""

    name = "utfall.platform.organisations"
    label = "organisations"
    verbose_name = "Organisations"

    def ready(self) -> None:
        from utfall.platform.organisations import checks  # noqa: F401  (registers the check)


class PlatformAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the platform's admin site as ``admin.site`` (decision 0600)."""

    default = False  # named in INSTALLED_APPS; OrganisationsConfig stays this module's default
    default_site = "utfall.platform.organisations.admin_site.PlatformAdminSite"
