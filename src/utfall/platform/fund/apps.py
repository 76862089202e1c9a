from django.apps import AppConfig


class FundConfig(AppConfig):
    """Administration of a national outcomes fund (role: fund administrator)."""

    name = "utfall.platform.fund"
    label = "fund"
    verbose_name = "National outcomes fund"
