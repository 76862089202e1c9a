from django.apps import AppConfig


class WebConfig(AppConfig):
    """Pages, templates, static files and translations."""

    name = "utfall.platform.web"
    label = "web"
    verbose_name = "Web"
