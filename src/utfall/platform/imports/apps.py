from django.apps import AppConfig


class ImportsConfig(AppConfig):
    """Data imports and the records they write."""

    name = "utfall.platform.imports"
    label = "imports"
    verbose_name = "Imports"
