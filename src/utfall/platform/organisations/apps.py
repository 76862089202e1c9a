from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    """Organisations and memberships; registers the pseudonym-key start-up check."""

    name = "utfall.platform.organisations"
    label = "organisations"
    verbose_name = "Organisations"

    def ready(self) -> None:
        from utfall.platform.organisations import checks  # noqa: F401  (registers the check)
