from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    """Organisations and memberships; checks the pseudonym key at start-up."""

    name = "utfall.platform.organisations"
    label = "organisations"
    verbose_name = "Organisations"

    def ready(self) -> None:
        # Fail at start-up, not at the first import, when the key file is missing.
        from utfall.platform.pseudonyms import load_key

        load_key()
