from django.apps import AppConfig


class SettlementsConfig(AppConfig):
    """Settlement workflow, ledger, evaluator keys and the finance view."""

    name = "utfall.platform.settlements"
    label = "settlements"
    verbose_name = "Settlements"
