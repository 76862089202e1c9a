from django.apps import AppConfig


class ContractsConfig(AppConfig):
    """Contracts, versions, parties and settlement statements."""

    name = "utfall.platform.contracts"
    label = "contracts"
    verbose_name = "Contracts"
