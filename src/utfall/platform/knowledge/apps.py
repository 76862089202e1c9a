from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """Published contracts, outcome definitions, aggregated results, open data (no login)."""

    name = "utfall.platform.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge platform"
